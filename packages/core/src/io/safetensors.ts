import * as fs from 'node:fs';
import { chunkBytesOf, type FileIo, readAt } from './file-io.js';
import { firstNonFinite, nonFiniteText } from './non-finite.js';
import { assertRegularFile } from './regular-file.js';
import {
  bf16ToF32Into,
  f16ToF32Into,
  MAX_HEADER_BYTES,
  NonFiniteTensorError,
  parseSafetensorsHeader,
  type RawTensor,
  SafetensorsError,
  type TensorInfo,
} from './safetensors-header.js';

/**
 * One safetensors file, read on demand: opening reads only the header (positioned reads);
 * each tensor is read when asked for, `chunkBytes` at a time, so a loader holds at most the
 * tensors it keeps plus one chunk. Writing: safetensors-writer.ts.
 */

export class SafetensorsFile {
  private scratch: Uint16Array | undefined;

  private constructor(
    readonly path: string,
    private fd: number | null,
    private readonly dataStart: number,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
    private readonly io: FileIo | undefined,
  ) {}

  /** Opens `path` and validates its header against the file size (see parseSafetensorsHeader). */
  static open(path: string, io?: FileIo): SafetensorsFile {
    // stat first: opening a FIFO would block until a writer appears
    assertRegularFile(path, 'a safetensors file');
    // non-blocking, so that a FIFO swapped in after the stat cannot block the open either
    const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const short = (at: number) =>
      new SafetensorsError('truncated', path, `file ended at byte ${at}`);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile())
        throw new SafetensorsError(
          'invalid_header',
          path,
          'not a regular file (replaced while opening)',
        );
      const size = st.size;
      if (size < 8) {
        throw new SafetensorsError(
          'truncated',
          path,
          `file is truncated: ${size} bytes, shorter than the 8-byte header length`,
        );
      }
      const prefix = new Uint8Array(8);
      readAt(fd, prefix, 0, io, short);
      const headerLength = new DataView(prefix.buffer).getBigUint64(0, true);
      if (headerLength > BigInt(MAX_HEADER_BYTES)) {
        throw new SafetensorsError(
          'invalid_header',
          path,
          `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit of the format (the file is damaged or not safetensors)`,
        );
      }
      if (headerLength > BigInt(size - 8)) {
        throw new SafetensorsError(
          'truncated',
          path,
          `file is truncated: the header claims ${headerLength} bytes but only ${size - 8} follow the length`,
        );
      }
      const headerBytes = new Uint8Array(Number(headerLength));
      readAt(fd, headerBytes, 8, io, short);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
      } catch {
        throw new SafetensorsError('invalid_header', path, 'header is not valid UTF-8');
      }
      const dataStart = 8 + headerBytes.length;
      const header = parseSafetensorsHeader(text, size - dataStart, path);
      return new SafetensorsFile(path, fd, dataStart, header.tensors, header.metadata, io);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (t === undefined)
      throw new SafetensorsError('missing_tensor', this.path, 'not in this file', name);
    return t;
  }

  readRaw(name: string): RawTensor {
    const t = this.info(name);
    const bytes = new Uint8Array(t.end - t.begin);
    this.readInto(bytes, t.begin);
    return { dtype: t.dtype, shape: [...t.shape], bytes };
  }

  /**
   * The tensor as f32 (F16/BF16 upcast exactly). F32 is read straight into the result; 16-bit
   * data goes through one reused chunk-sized buffer, so the only allocation is the result.
   * A NaN or ±Inf is an error naming the tensor and the index (NonFiniteTensorError).
   */
  readF32(name: string): Float32Array {
    const t = this.info(name);
    if (t.dtype === 'F32') {
      const out = new Float32Array((t.end - t.begin) / 4);
      this.readInto(new Uint8Array(out.buffer), t.begin);
      this.checkFinite(name, out, 0);
      return out;
    }
    const count = (t.end - t.begin) / 2;
    const out = new Float32Array(count);
    this.scratch ??= new Uint16Array(chunkBytesOf(this.io) / 2);
    const scratch = this.scratch;
    for (let i = 0; i < count; i += scratch.length) {
      const bits = scratch.subarray(0, Math.min(scratch.length, count - i));
      this.readInto(new Uint8Array(bits.buffer, 0, bits.byteLength), t.begin + 2 * i);
      const into = out.subarray(i, i + bits.length);
      if (t.dtype === 'F16') f16ToF32Into(bits, into);
      else bf16ToF32Into(bits, into);
      // scanned while the chunk is hot in cache, right after widening
      this.checkFinite(name, into, i);
    }
    return out;
  }

  private checkFinite(name: string, values: Float32Array, base: number): void {
    const bad = firstNonFinite(values);
    if (bad >= 0)
      throw new NonFiniteTensorError(this.path, name, base + bad, nonFiniteText(values[bad]));
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.scratch = undefined;
  }

  private readInto(target: Uint8Array, dataOffset: number): void {
    if (this.fd === null) throw new Error(`${this.path}: safetensors file already closed`);
    readAt(
      this.fd,
      target,
      this.dataStart + dataOffset,
      this.io,
      (at) => new SafetensorsError('truncated', this.path, `file ended at byte ${at}`),
    );
  }
}

// RawTensor sits with the header types so that the writer needs nothing from this file.
export type { RawTensor } from './safetensors-header.js';
// The writing side lives in safetensors-writer.ts; these are re-exported for one import site.
export {
  f32TensorToWrite,
  rawTensorToWrite,
  type TensorSource,
  type TensorToWrite,
  tensorBytes,
  writeSafetensors,
} from './safetensors-writer.js';
