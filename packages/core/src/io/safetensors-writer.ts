import * as fs from 'node:fs';
import { chunkBytesOf, type FileIo, writeAt } from './file-io.js';
import {
  buildSafetensorsHeader,
  DTYPE_BYTES,
  f32ToBf16Into,
  f32ToF16Into,
  type RawTensor,
  type SafetensorsDtype,
  type TensorLayout,
} from './safetensors-header.js';

/**
 * Streaming safetensors writes: the header first (every size is known from the shapes), then
 * each tensor when its turn comes — checked finite, converted to its storage dtype and written
 * `chunkBytes` at a time through one reused buffer — then dropped.
 */

/** A tensor's data when its turn comes: f32 values (converted to the storage dtype) or stored bytes. */
export type TensorSource =
  | { kind: 'f32'; values: Float32Array }
  | { kind: 'raw'; bytes: Uint8Array };

/** A tensor to write; `read` is called once, when its turn comes, so tensors stay one at a time. */
export interface TensorToWrite extends TensorLayout {
  read: () => TensorSource | Promise<TensorSource>;
}

export function rawTensorToWrite(name: string, raw: RawTensor): TensorToWrite {
  return {
    name,
    dtype: raw.dtype,
    shape: raw.shape,
    read: () => ({ kind: 'raw', bytes: raw.bytes }),
  };
}

/** f32 values stored as F32, or rounded to nearest even as BF16 or F16. */
export function f32TensorToWrite(
  name: string,
  shape: number[],
  values: Float32Array,
  dtype: SafetensorsDtype,
): TensorToWrite {
  return { name, dtype, shape, read: () => ({ kind: 'f32', values }) };
}

/** The number of data bytes a tensor occupies in a file. */
export function tensorBytes(t: Pick<TensorLayout, 'dtype' | 'shape'>): number {
  return t.shape.reduce((n, d) => n * d, 1) * DTYPE_BYTES[t.dtype];
}

/** Index and value of the first non-finite element of `v`, or undefined. */
function firstNonFinite(v: Float32Array): number | undefined {
  for (let i = 0; i < v.length; i++) {
    // x − x is 0 for finite x and NaN for ±inf and NaN: one subtraction, no call
    const x = v[i];
    if (x - x !== 0) return i;
  }
  return undefined;
}

/** One safetensors file being written: `create` writes the header, `write` each tensor in order. */
export class SafetensorsWriter {
  private next = 0;
  private position: number;

  private constructor(
    readonly path: string,
    private fd: number | null,
    private readonly layouts: readonly TensorLayout[],
    headerBytes: number,
    private readonly io: FileIo | undefined,
    private readonly scratch: () => Uint16Array,
  ) {
    this.position = headerBytes;
  }

  /**
   * Creates `path` and writes its header. `scratch` gives the chunk-sized conversion buffer
   * (default: one of this writer's own, made on first use); writers open together share one.
   */
  static create(
    path: string,
    layouts: readonly TensorLayout[],
    metadata: Record<string, string> | undefined,
    io?: FileIo,
    scratch?: () => Uint16Array,
  ): SafetensorsWriter {
    const header = buildSafetensorsHeader(layouts, metadata);
    let fd: number;
    try {
      fd = fs.openSync(path, 'w');
    } catch (e) {
      throw new Error(`${path}: cannot create: ${(e as Error).message}`, { cause: e });
    }
    try {
      writeAt(fd, header.bytes, 0, path, io);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    let own: Uint16Array | undefined;
    const buffer =
      scratch ??
      (() => {
        own ??= new Uint16Array(chunkBytesOf(io) / 2);
        return own;
      });
    return new SafetensorsWriter(path, fd, layouts, header.bytes.length, io, buffer);
  }

  /** Writes the next tensor of the header's order from `source`. */
  write(name: string, source: TensorSource): void {
    const layout = this.layouts[this.next];
    if (layout === undefined || layout.name !== name) {
      throw new Error(
        `${this.path}: tensor "${name}" written out of order (expected "${layout?.name ?? '(end)'}")`,
      );
    }
    const fd = this.openFd();
    const bytes = tensorBytes(layout);
    const shape = `[${layout.shape.join(', ')}]`;
    if (source.kind === 'raw') {
      if (source.bytes.length !== bytes) {
        throw new Error(
          `${this.path}: tensor "${name}": ${source.bytes.length} bytes given, shape ${shape} × ${layout.dtype} needs ${bytes}`,
        );
      }
      writeAt(fd, source.bytes, this.position, this.path, this.io);
    } else {
      const v = source.values;
      if (v.length * DTYPE_BYTES[layout.dtype] !== bytes) {
        throw new Error(
          `${this.path}: tensor "${name}": ${v.length} values given, shape ${shape} needs ${bytes / DTYPE_BYTES[layout.dtype]}`,
        );
      }
      this.writeF32(fd, name, layout.dtype, v);
    }
    this.position += bytes;
    this.next++;
  }

  private writeF32(fd: number, name: string, dtype: SafetensorsDtype, v: Float32Array): void {
    const chunk = chunkBytesOf(this.io);
    const per = chunk / DTYPE_BYTES[dtype];
    for (let i = 0; i < v.length; i += per) {
      const part = v.subarray(i, Math.min(v.length, i + per));
      const bad = firstNonFinite(part);
      if (bad !== undefined) {
        throw new Error(
          `tensor "${name}"[${i + bad}] is ${part[bad]}; refusing to save a non-finite checkpoint`,
        );
      }
      let out: Uint8Array;
      if (dtype === 'F32') out = new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
      else {
        const bits = this.scratch().subarray(0, part.length);
        const overflow = dtype === 'F16' ? f32ToF16Into(part, bits) : f32ToBf16Into(part, bits);
        if (overflow >= 0) {
          throw new Error(
            `tensor "${name}"[${i + overflow}] is ${part[overflow]}, beyond the range of ${dtype} (it would be stored as infinity); save as f32 or bf16 instead`,
          );
        }
        out = new Uint8Array(bits.buffer, 0, bits.byteLength);
      }
      writeAt(fd, out, this.position + i * DTYPE_BYTES[dtype], this.path, this.io);
    }
  }

  /** Closes the file; every tensor of the header must have been written. */
  close(): void {
    const fd = this.openFd();
    this.fd = null;
    fs.closeSync(fd);
    if (this.next !== this.layouts.length) {
      throw new Error(
        `${this.path}: closed after ${this.next} of ${this.layouts.length} tensors (next: "${this.layouts[this.next].name}")`,
      );
    }
  }

  /** Closes the file after a failure, keeping the first error. */
  abandon(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private openFd(): number {
    if (this.fd === null) throw new Error(`${this.path}: already closed`);
    return this.fd;
  }
}

/** Writes a safetensors file: header (space-padded to 8 bytes), then the tensors in order. */
export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
  io?: FileIo,
): void {
  const w = SafetensorsWriter.create(path, tensors, metadata, io);
  try {
    for (const t of tensors) {
      const source = t.read();
      if (source instanceof Promise) {
        throw new Error(
          `${path}: tensor "${t.name}" reads asynchronously; use writeSafetensorsSet`,
        );
      }
      w.write(t.name, source);
    }
  } catch (e) {
    w.abandon();
    throw e;
  }
  w.close();
}
