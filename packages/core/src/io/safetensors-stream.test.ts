import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FileIo } from './file-io.js';
import { f32TensorToWrite, SafetensorsFile, writeSafetensors } from './safetensors.js';
import {
  buildSafetensorsHeader,
  f16ToF32,
  f32ToBf16Into,
  f32ToF16Into,
  type SafetensorsDtype,
} from './safetensors-header.js';
import { planShards } from './safetensors-index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-stream-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const tmpFile = () => path.join(root, `${n++}.safetensors`);

const bitsOf = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
const f32Of = (bits: number) => new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];

/** Deterministic f32 bit patterns with exponents in [lo, hi] (biased), any sign and fraction. */
function randomF32(count: number, lo: number, hi: number, seed: number): Float32Array {
  const u = new Uint32Array(count);
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const exp = lo + (next() % (hi - lo + 1));
    u[i] = ((next() & 0x80000000) | (exp << 23) | (next() & 0x7fffff)) >>> 0;
  }
  return new Float32Array(u.buffer);
}

/** bf16 by definition: the nearer of the two bf16 neighbours (by f64 distance), ties to even. */
function bf16Oracle(x: number): number {
  const b = bitsOf(x);
  const lo = b & 0xffff0000;
  const hi = (lo + 0x10000) >>> 0;
  const dl = Math.abs(x - f32Of(lo));
  const dh = Math.abs(f32Of(hi) - x);
  const pick = dl < dh || (dl === dh && ((lo >>> 16) & 1) === 0) ? lo : hi;
  return pick >>> 16;
}

/** Every non-negative finite f16 value in bit order (which is value order). */
const F16_VALUES = f16ToF32(new Uint16Array(0x7c00).map((_, i) => i));

/** f16 by definition: nearest of all finite f16 values (binary search), ties to even; 65520 and up overflow. */
function f16Oracle(x: number): number | 'overflow' {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return 'overflow';
  let lo = 0;
  let hi = F16_VALUES.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (F16_VALUES[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  if (lo === F16_VALUES.length - 1) return sign | lo;
  const dl = a - F16_VALUES[lo];
  const dh = F16_VALUES[lo + 1] - a;
  return sign | (dl < dh || (dl === dh && (lo & 1) === 0) ? lo : lo + 1);
}

describe('f32 → bf16 / f16 conversion (round to nearest even, against the definition)', () => {
  it('bf16 matches the nearest-neighbour definition on 200k values and at exact ties', () => {
    const xs = randomF32(200_000, 1, 253, 11);
    // exact ties: the bf16 grid point plus half a bf16 ulp (low 16 bits 0x8000)
    const ties = new Float32Array(
      new Uint32Array(1000).map((_, i) => ((0x3f000000 + i * 0x20000) | 0x8000) >>> 0).buffer,
    );
    for (const values of [xs, ties]) {
      const out = new Uint16Array(values.length);
      expect(f32ToBf16Into(values, out)).toBe(-1);
      for (let i = 0; i < values.length; i++) {
        if (out[i] !== bf16Oracle(values[i]))
          throw new Error(
            `bf16(${values[i]}): got 0x${out[i].toString(16)}, expected 0x${bf16Oracle(values[i]).toString(16)}`,
          );
      }
    }
  });

  it('f16 matches the nearest-of-all-f16 definition (normals, subnormals, ties, zero)', () => {
    const xs = randomF32(100_000, 95, 141, 12); // 2^-32 … 2^15: underflow, subnormal, normal
    const special = new Float32Array([
      0,
      -0,
      2 ** -25,
      2 ** -25 * 1.0000001,
      3 * 2 ** -25,
      2 ** -24,
      2 ** -14,
      2 ** -14 * (1 - 2 ** -11),
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      65504,
      65519.99,
      -65519,
      2049,
      2051,
      0.1,
      -0.3333333,
    ]);
    for (const values of [xs, special]) {
      const out = new Uint16Array(values.length);
      expect(f32ToF16Into(values, out)).toBe(-1);
      for (let i = 0; i < values.length; i++) {
        const want = f16Oracle(values[i]);
        if (out[i] !== want)
          throw new Error(
            `f16(${values[i]}): got 0x${out[i].toString(16)}, expected 0x${String(want === 'overflow' ? want : want.toString(16))}`,
          );
      }
    }
  });

  it('f16 reports the first overflow (|x| ≥ 65520) and keeps inf and NaN', () => {
    const values = new Float32Array([1, 65504, 65520, -1e6, Infinity, Number.NaN]);
    const out = new Uint16Array(values.length);
    expect(f32ToF16Into(values, out)).toBe(2);
    expect([...out].map((h) => h.toString(16))).toEqual([
      '3c00',
      '7bff',
      '7c00',
      'fc00',
      '7c00',
      '7e00',
    ]);
    const big = new Float32Array([1, f32Of(0x7f7fffff)]);
    expect(f32ToBf16Into(big, new Uint16Array(2))).toBe(1);
  });
});

/** The previous implementation's file, built whole in memory: header + each tensor's bytes. */
function wholeFile(
  tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; bytes: Uint8Array }[],
  metadata?: Record<string, string>,
): Buffer {
  const header = buildSafetensorsHeader(tensors, metadata);
  return Buffer.concat([header.bytes, ...tensors.map((t) => t.bytes)]);
}

/** FileIo that records the largest read and write, and how many there were. */
function recordingIo(chunkBytes: number) {
  const seen = { maxWrite: 0, writes: 0, maxRead: 0, reads: 0 };
  const io: FileIo = {
    chunkBytes,
    write: (fd, b, off, len, pos) => {
      seen.maxWrite = Math.max(seen.maxWrite, len);
      seen.writes++;
      return fs.writeSync(fd, b, off, len, pos);
    },
    read: (fd, b, off, len, pos) => {
      seen.maxRead = Math.max(seen.maxRead, len);
      seen.reads++;
      return fs.readSync(fd, b, off, len, pos);
    },
  };
  return { io, seen };
}

describe('streamed writes and reads in chunks', () => {
  const big = randomF32(50_000, 100, 140, 5); // 200 KB of f32
  const small = new Float32Array([1.5, -2, 3.25]);

  it('no read or write exceeds a 4 KiB chunk, and the file equals the whole-buffer build bit for bit', () => {
    for (const dtype of ['F32', 'BF16', 'F16'] as const) {
      const { io, seen } = recordingIo(4096);
      const file = tmpFile();
      writeSafetensors(
        file,
        [
          f32TensorToWrite('big', [250, 200], big, dtype),
          f32TensorToWrite('small', [3], small, dtype),
        ],
        { format: 'pt' },
        io,
      );
      const encode = (v: Float32Array) => {
        if (dtype === 'F32') return new Uint8Array(v.buffer.slice(0));
        const out = new Uint16Array(v.length);
        (dtype === 'BF16' ? f32ToBf16Into : f32ToF16Into)(v, out);
        return new Uint8Array(out.buffer);
      };
      const expected = wholeFile(
        [
          { name: 'big', dtype, shape: [250, 200], bytes: encode(big) },
          { name: 'small', dtype, shape: [3], bytes: encode(small) },
        ],
        { format: 'pt' },
      );
      expect(fs.readFileSync(file).equals(expected), dtype).toBe(true);
      expect(seen.maxWrite).toBeLessThanOrEqual(4096);
      expect(seen.writes).toBeGreaterThan((big.length * (dtype === 'F32' ? 4 : 2)) / 4096);
      const f = SafetensorsFile.open(file, io);
      const back = f.readF32('big');
      f.close();
      expect(seen.maxRead).toBeLessThanOrEqual(4096);
      const ref = SafetensorsFile.open(file);
      expect(Buffer.from(back.buffer).equals(Buffer.from(ref.readF32('big').buffer))).toBe(true);
      ref.close();
      if (dtype === 'F32') expect(back).toEqual(big);
    }
  });

  it('refuses a non-finite value, naming the tensor and its index (in a later chunk)', () => {
    const values = new Float32Array(5000).fill(0.5);
    values[4321] = Number.NaN;
    expect(() =>
      writeSafetensors(
        tmpFile(),
        [f32TensorToWrite('layer.w', [5000], values, 'BF16')],
        undefined,
        {
          chunkBytes: 1024,
        },
      ),
    ).toThrow('tensor "layer.w"[4321] is NaN; refusing to save a non-finite checkpoint');
    values[4321] = -Infinity;
    expect(() =>
      writeSafetensors(tmpFile(), [f32TensorToWrite('w', [5000], values, 'F32')]),
    ).toThrow('tensor "w"[4321] is -Infinity');
  });

  it('refuses f16 overflow, naming the tensor, index and value', () => {
    const values = new Float32Array([1, 2, 70000]);
    expect(() =>
      writeSafetensors(tmpFile(), [f32TensorToWrite('lm_head.weight', [3], values, 'F16')]),
    ).toThrow(/tensor "lm_head.weight"\[2\] is 70000, beyond the range of F16/);
  });
});

describe('planShards (huggingface_hub split_torch_state_dict_into_shards)', () => {
  const t = (name: string, n: number) => ({ name, dtype: 'F32' as const, shape: [n] });
  it('starts a shard where the next tensor would pass the limit; an oversized tensor gets its own, placed when met', () => {
    const names = (shards: { name: string }[][]) => shards.map((s) => s.map((x) => x.name));
    const tensors = [t('a', 10), t('b', 10), t('huge', 100), t('c', 10), t('d', 15)];
    // limit 100 bytes = 25 f32: a+b (80 B) fit; huge (400 B) is alone and placed as met; c+d (100 B) fit
    expect(names(planShards(tensors, 100))).toEqual([['huge'], ['a', 'b'], ['c', 'd']]);
    expect(names(planShards(tensors, 80))).toEqual([['huge'], ['a', 'b'], ['c'], ['d']]);
    expect(names(planShards(tensors))).toEqual([['a', 'b', 'huge', 'c', 'd']]);
    expect(names(planShards([]))).toEqual([[]]);
  });
});
