import * as fs from 'node:fs';
import {
  bf16ToF32,
  buildSafetensorsHeader,
  DTYPE_BYTES,
  f16ToF32,
  f32ToBf16,
  parseSafetensorsHeader,
  type SafetensorsDtype,
  SafetensorsError,
  type TensorInfo,
} from './safetensors-header.js';

/**
 * One safetensors file, read on demand: opening reads only the header (positioned reads);
 * each tensor is read when asked for, so a loader holds at most the tensors it keeps plus one.
 */

/** A tensor's stored bytes, untouched: writing them back reproduces the file byte for byte. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: Uint8Array;
}

/** readSync moves at most 2 GiB per call; larger tensors are read in chunks. */
const CHUNK = 1 << 30;

function readFully(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.length) {
    const n = fs.readSync(fd, target, done, Math.min(CHUNK, target.length - done), position + done);
    if (n === 0)
      throw new SafetensorsError('truncated', file, `file ended at byte ${position + done}`);
    done += n;
  }
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private fd: number | null,
    private readonly dataStart: number,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  /** Opens `path` and validates its header against the file size (see parseSafetensorsHeader). */
  static open(path: string): SafetensorsFile {
    const fd = fs.openSync(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 8) {
        throw new SafetensorsError(
          'truncated',
          path,
          `file is truncated: ${size} bytes, shorter than the 8-byte header length`,
        );
      }
      const prefix = new Uint8Array(8);
      readFully(fd, prefix, 0, path);
      const headerLength = new DataView(prefix.buffer).getBigUint64(0, true);
      if (headerLength > BigInt(size - 8)) {
        throw new SafetensorsError(
          'truncated',
          path,
          `file is truncated: the header claims ${headerLength} bytes but only ${size - 8} follow the length`,
        );
      }
      const headerBytes = new Uint8Array(Number(headerLength));
      readFully(fd, headerBytes, 8, path);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
      } catch {
        throw new SafetensorsError('invalid_header', path, 'header is not valid UTF-8');
      }
      const dataStart = 8 + headerBytes.length;
      const header = parseSafetensorsHeader(text, size - dataStart, path);
      return new SafetensorsFile(path, fd, dataStart, header.tensors, header.metadata);
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
    readFully(this.openFd(), bytes, this.dataStart + t.begin, this.path);
    return { dtype: t.dtype, shape: [...t.shape], bytes };
  }

  /** The tensor as f32 (F16/BF16 upcast exactly). */
  readF32(name: string): Float32Array {
    const t = this.info(name);
    if (t.dtype === 'F32') {
      const out = new Float32Array((t.end - t.begin) / 4);
      readFully(this.openFd(), new Uint8Array(out.buffer), this.dataStart + t.begin, this.path);
      return out;
    }
    const bits = new Uint16Array((t.end - t.begin) / 2);
    readFully(this.openFd(), new Uint8Array(bits.buffer), this.dataStart + t.begin, this.path);
    return t.dtype === 'F16' ? f16ToF32(bits) : bf16ToF32(bits);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private openFd(): number {
    if (this.fd === null) throw new Error(`${this.path}: safetensors file already closed`);
    return this.fd;
  }
}

/** A tensor to write; `bytes` is called once, when its turn comes, so conversions stay one at a time. */
export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: () => Uint8Array;
}

export function rawTensorToWrite(name: string, raw: RawTensor): TensorToWrite {
  return { name, dtype: raw.dtype, shape: raw.shape, bytes: () => raw.bytes };
}

/** f32 values stored as F32 or (rounded to nearest even) BF16. */
export function f32TensorToWrite(
  name: string,
  shape: number[],
  values: Float32Array,
  dtype: 'F32' | 'BF16',
): TensorToWrite {
  return {
    name,
    dtype,
    shape,
    bytes: () => {
      const v = dtype === 'F32' ? values : f32ToBf16(values);
      return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    },
  };
}

/** The number of data bytes `tensors` occupy in a file. */
export function tensorBytes(t: Pick<TensorToWrite, 'dtype' | 'shape'>): number {
  return t.shape.reduce((n, d) => n * d, 1) * DTYPE_BYTES[t.dtype];
}

/** Writes a safetensors file: header (space-padded to 8 bytes), then the tensors in order. */
export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): void {
  const header = buildSafetensorsHeader(tensors, metadata);
  const fd = fs.openSync(path, 'w');
  try {
    fs.writeSync(fd, header.bytes);
    for (const t of tensors) {
      const bytes = t.bytes();
      if (bytes.length !== tensorBytes(t)) {
        throw new Error(
          `${path}: tensor "${t.name}": ${bytes.length} bytes given, shape [${t.shape.join(', ')}] × ${t.dtype} needs ${tensorBytes(t)}`,
        );
      }
      let done = 0;
      while (done < bytes.length)
        done += fs.writeSync(fd, bytes, done, Math.min(CHUNK, bytes.length - done));
    }
  } finally {
    fs.closeSync(fd);
  }
}
