/**
 * The safetensors container, without the file system: dtypes, f16/bf16 ⇄ f32, and the header
 * (parse + validate, build). Layout: u64 little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`,
 * then the data; offsets are relative to the start of the data.
 * Hosts are assumed little-endian (as safetensors itself is), so f32 data is viewed in place.
 */

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export type SafetensorsErrorCode =
  | 'truncated'
  | 'invalid_header'
  | 'unknown_dtype'
  | 'offsets_out_of_bounds'
  | 'overlapping_offsets'
  | 'size_mismatch'
  | 'missing_file'
  | 'duplicate_tensor'
  | 'missing_tensor'
  | 'wrong_shape'
  | 'unexpected_tensor'
  | 'non_finite';

/** A safetensors file or directory that cannot be used; `code` says which check failed. */
export class SafetensorsError extends Error {
  constructor(
    readonly code: SafetensorsErrorCode,
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${tensor === undefined ? '' : `tensor "${tensor}": `}${message}`);
    this.name = 'SafetensorsError';
  }
}

/** A NaN or ±Inf in a tensor at load: `<file>: tensor "<name>"[<index>] is NaN (…)`. */
export class NonFiniteTensorError extends SafetensorsError {
  constructor(
    file: string,
    tensor: string,
    readonly index: number,
    what: string,
  ) {
    super('non_finite', file, what, tensor);
    this.message = `${file}: tensor "${tensor}"[${index}] ${what}`;
    this.name = 'NonFiniteTensorError';
  }
}

/**
 * The largest header accepted: refused before allocating (a hostile length prefix could ask
 * for gigabytes). The safetensors format itself caps headers at 100 MB; a 7B model's is ~30 KB.
 */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range within the data section: [begin, end). */
  begin: number;
  end: number;
}

/** A tensor's stored bytes, untouched: writing them back reproduces the file byte for byte. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: Uint8Array;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

function isDtype(v: unknown): v is SafetensorsDtype {
  return v === 'F32' || v === 'F16' || v === 'BF16';
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses and validates a header against the size of the data that follows it. Checks, each
 * with its own code: JSON shape (invalid_header), dtype (unknown_dtype), shape × dtype size =
 * byte length (size_mismatch), ranges not overlapping (overlapping_offsets), the data holding
 * every tensor's bytes (truncated: less data than the tensors' total size), and each range
 * lying inside the data (offsets_out_of_bounds).
 */
export function parseSafetensorsHeader(
  headerText: string,
  dataBytes: number,
  file: string,
): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(headerText);
  } catch (e) {
    throw new SafetensorsError(
      'invalid_header',
      file,
      `header is not valid JSON (${(e as Error).message})`,
    );
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsError('invalid_header', file, 'header must be a JSON object of tensors');
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const ok =
        entry !== null &&
        typeof entry === 'object' &&
        !Array.isArray(entry) &&
        Object.values(entry).every((v) => typeof v === 'string');
      if (!ok)
        throw new SafetensorsError(
          'invalid_header',
          file,
          '__metadata__ must map strings to strings',
        );
      metadata = entry as Record<string, string>;
      continue;
    }
    if (entry === null || typeof entry !== 'object') {
      throw new SafetensorsError(
        'invalid_header',
        file,
        'expected {dtype, shape, data_offsets}',
        name,
      );
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw new SafetensorsError(
        'invalid_header',
        file,
        `shape must be a list of integers ≥ 0, got ${JSON.stringify(shape)}`,
        name,
      );
    }
    if (!isDtype(dtype)) {
      throw new SafetensorsError(
        'unknown_dtype',
        file,
        `dtype ${JSON.stringify(dtype)} is not supported (expected F32, F16 or BF16)`,
        name,
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isCount) ||
      offsets[0] > offsets[1]
    ) {
      throw new SafetensorsError(
        'offsets_out_of_bounds',
        file,
        `data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`,
        name,
      );
    }
    const [begin, end] = offsets as [number, number];
    const expected = shape.reduce((n: number, d: number) => n * d, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(
        'size_mismatch',
        file,
        `shape [${shape.join(', ')}] × ${dtype} is ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
        name,
      );
    }
    tensors.set(name, { name, dtype, shape: shape as number[], begin, end });
  }

  const byOffset = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let total = 0;
  // The tensor reaching furthest so far: any later one starting before its end overlaps it.
  let reach: TensorInfo | undefined;
  for (const t of byOffset) {
    total += t.end - t.begin;
    if (t.end === t.begin) continue;
    if (reach !== undefined && t.begin < reach.end) {
      throw new SafetensorsError(
        'overlapping_offsets',
        file,
        `data_offsets [${t.begin}, ${t.end}] overlap those of "${reach.name}" [${reach.begin}, ${reach.end}]`,
        t.name,
      );
    }
    if (reach === undefined || t.end > reach.end) reach = t;
  }
  if (dataBytes < total) {
    throw new SafetensorsError(
      'truncated',
      file,
      `file is truncated: its tensors need ${total} bytes of data but only ${dataBytes} follow the header`,
    );
  }
  for (const t of byOffset) {
    if (t.end > dataBytes) {
      throw new SafetensorsError(
        'offsets_out_of_bounds',
        file,
        `data_offsets [${t.begin}, ${t.end}] lie outside the ${dataBytes} bytes of data`,
        t.name,
      );
    }
  }
  return { tensors, metadata };
}

export interface TensorLayout {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

/**
 * The header bytes (length prefix + JSON padded with spaces to 8-byte alignment) for tensors
 * stored back to back in the given order. Returns the per-tensor infos too.
 */
export function buildSafetensorsHeader(
  layouts: readonly TensorLayout[],
  metadata?: Record<string, string>,
): { bytes: Uint8Array; tensors: TensorInfo[] } {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const tensors: TensorInfo[] = [];
  let offset = 0;
  for (const t of layouts) {
    if (t.name === '__metadata__' || t.name in header)
      throw new Error(`safetensors: duplicate tensor name "${t.name}"`);
    const bytes = t.shape.reduce((n, d) => n * d, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    tensors.push({ ...t, begin: offset, end: offset + bytes });
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return { bytes, tensors };
}

let f16Table: Float32Array | undefined;

/** The f32 value of every f16 bit pattern (256 KiB, built on first use): one lookup per element. */
function f16Values(): Float32Array {
  if (f16Table !== undefined) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  f16Table = table;
  return table;
}

/** Exact: every f16 value (subnormals, ±inf, NaN) is representable in f32. */
export function f16ToF32(bits: Uint16Array): Float32Array {
  return f16ToF32Into(bits, new Float32Array(bits.length));
}

/** f16ToF32 into `out` (at least `bits.length` long); returns `out`. */
export function f16ToF32Into(bits: Uint16Array, out: Float32Array): Float32Array {
  const table = f16Values();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** Exact: bf16 is the top half of an f32. */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  return bf16ToF32Into(bits, new Float32Array(bits.length));
}

/** bf16ToF32 into `out` (at least `bits.length` long); returns `out`. */
export function bf16ToF32Into(bits: Uint16Array, out: Float32Array): Float32Array {
  const u = new Uint32Array(out.buffer, out.byteOffset, bits.length);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return out;
}

/** Round to nearest even; NaN stays NaN (quiet). Values already bf16 round-trip exactly. */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  f32ToBf16Into(values, out);
  return out;
}

/**
 * f32ToBf16 into `out`. Returns the index of the first finite value that overflowed to ±inf
 * (magnitudes from 2^128 − 2^119 up round past bf16's largest value), or −1.
 */
export function f32ToBf16Into(values: Float32Array, out: Uint16Array): number {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let overflow = -1;
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    if ((x & 0x7f800000) === 0x7f800000) {
      // inf stays inf; NaN keeps its top payload bits and is made quiet
      out[i] = (x & 0x7fffff) !== 0 ? (x >>> 16) | 0x40 : x >>> 16;
      continue;
    }
    const h = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    if ((h & 0x7f80) === 0x7f80 && overflow < 0) overflow = i;
    out[i] = h;
  }
  return overflow;
}

/**
 * f32 → f16, rounded to nearest even (as torch's `.half()`), into `out`. NaN → quiet NaN,
 * ±inf → ±inf. Returns the index of the first finite value that overflowed to ±inf
 * (|x| ≥ 65520, which rounds past f16's largest value 65504), or −1.
 */
export function f32ToF16Into(values: Float32Array, out: Uint16Array): number {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let overflow = -1;
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    const sign = (x >>> 16) & 0x8000;
    const abs = x & 0x7fffffff;
    if (abs >= 0x7f800000) {
      out[i] = sign | (abs === 0x7f800000 ? 0x7c00 : 0x7e00 | ((abs >>> 13) & 0x3ff));
    } else if (abs >= 0x477ff000) {
      if (overflow < 0) overflow = i;
      out[i] = sign | 0x7c00;
    } else if (abs >= 0x38800000) {
      // normal: rebias the exponent (127 → 15), keep 10 fraction bits, round the other 13
      let h = (abs - 0x38000000) >>> 13;
      const rest = abs & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
      out[i] = sign | h;
    } else {
      // subnormal (or zero): a multiple of 2^-24; scaling by 2^24 is exact in a double
      const v = Math.abs(values[i]) * 16777216;
      const q = Math.floor(v);
      const d = v - q;
      out[i] = sign | (d > 0.5 || (d === 0.5 && (q & 1) === 1) ? q + 1 : q);
    }
  }
  return overflow;
}
