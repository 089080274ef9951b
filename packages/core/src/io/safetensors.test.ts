import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  f32TensorToWrite,
  type RawTensor,
  rawTensorToWrite,
  SafetensorsFile,
  writeSafetensors,
} from './safetensors.js';
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  SafetensorsError,
  type SafetensorsErrorCode,
} from './safetensors-header.js';
import { INDEX_FILE, SafetensorsModel, writeSafetensorsModel } from './safetensors-index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-test-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let fileCount = 0;
const tmpFile = (name = 'x.safetensors') =>
  path.join(fs.mkdtempSync(path.join(root, `${fileCount++}-`)), name);

/** Deterministic pseudo-random bytes (any bit pattern, NaN payloads included). */
function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** A file laid out by hand from the format description: u64 LE length, JSON, data. */
function craft(header: unknown, data: Uint8Array, claimedLength?: number): string {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const buf = new Uint8Array(8 + json.length + data.length);
  new DataView(buf.buffer).setBigUint64(0, BigInt(claimedLength ?? json.length), true);
  buf.set(json, 8);
  buf.set(data, 8 + json.length);
  return writeRaw(buf);
}

function writeRaw(bytes: Uint8Array): string {
  const file = tmpFile();
  fs.writeFileSync(file, bytes);
  return file;
}

function openError(file: string): SafetensorsError {
  try {
    SafetensorsFile.open(file).close();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error(`expected ${file} to be rejected`);
}

describe('safetensors round trip', () => {
  const raws: Record<string, RawTensor> = {
    'a.f32': { dtype: 'F32', shape: [3, 5], bytes: bytesOf(60, 1) },
    'b.f16': { dtype: 'F16', shape: [7], bytes: bytesOf(14, 2) },
    'c.bf16': { dtype: 'BF16', shape: [2, 2, 3], bytes: bytesOf(24, 3) },
    'd.empty': { dtype: 'F32', shape: [0, 4], bytes: new Uint8Array(0) },
  };

  it('is byte-exact for F32, F16 and BF16 through the raw API', () => {
    const first = tmpFile();
    writeSafetensors(
      first,
      Object.entries(raws).map(([n, r]) => rawTensorToWrite(n, r)),
      { format: 'pt' },
    );
    const f = SafetensorsFile.open(first);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.tensors.keys()]).toEqual(Object.keys(raws));
    const back = [...f.tensors.keys()].map((n) => [n, f.readRaw(n)] as const);
    f.close();
    for (const [n, r] of back) {
      expect(r.dtype).toBe(raws[n].dtype);
      expect(r.shape).toEqual(raws[n].shape);
      expect(Buffer.from(r.bytes).equals(Buffer.from(raws[n].bytes))).toBe(true);
    }
    const second = tmpFile();
    writeSafetensors(
      second,
      back.map(([n, r]) => rawTensorToWrite(n, r)),
      { format: 'pt' },
    );
    expect(fs.readFileSync(second).equals(fs.readFileSync(first))).toBe(true);
  });

  it('writes the documented layout: u64 LE length, space-padded JSON to 8 bytes, data in order', () => {
    const file = tmpFile();
    writeSafetensors(file, [
      rawTensorToWrite('b.f16', raws['b.f16']),
      rawTensorToWrite('a.f32', raws['a.f32']),
    ]);
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = buf.subarray(8, 8 + n).toString('utf8');
    expect(text.trimEnd().length).toBeGreaterThan(n - 8);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
    expect(JSON.parse(text)).toEqual({
      'b.f16': { dtype: 'F16', shape: [7], data_offsets: [0, 14] },
      'a.f32': { dtype: 'F32', shape: [3, 5], data_offsets: [14, 74] },
    });
    expect(buf.subarray(8 + n, 8 + n + 14).equals(Buffer.from(raws['b.f16'].bytes))).toBe(true);
    expect(buf.subarray(8 + n + 14).equals(Buffer.from(raws['a.f32'].bytes))).toBe(true);
  });

  it('upcasts F16 and BF16 exactly to f32', () => {
    const f16 = new Uint16Array([
      0x3c00, 0xc000, 0x7bff, 0x0001, 0x8400, 0x7c00, 0xfc00, 0x7e00, 0x0000,
    ]);
    expect([...f16ToF32(f16)]).toEqual([
      1,
      -2,
      65504,
      2 ** -24,
      -(2 ** -14),
      Infinity,
      -Infinity,
      Number.NaN,
      0,
    ]);
    const bf16 = new Uint16Array([0x3f80, 0xc040, 0x0001, 0x7f80]);
    expect([...bf16ToF32(bf16)]).toEqual([1, -3, 2 ** -133, Infinity]);
    const file = tmpFile();
    // the finite values read back exactly; a file holding ±inf or NaN is refused at load
    const finiteF16 = f16.slice(0, 5);
    const finiteBf16 = bf16.slice(0, 3);
    writeSafetensors(file, [
      rawTensorToWrite('h', { dtype: 'F16', shape: [5], bytes: new Uint8Array(finiteF16.buffer) }),
      rawTensorToWrite('b', {
        dtype: 'BF16',
        shape: [3],
        bytes: new Uint8Array(finiteBf16.buffer),
      }),
      rawTensorToWrite('hx', { dtype: 'F16', shape: [9], bytes: new Uint8Array(f16.buffer) }),
      rawTensorToWrite('bx', { dtype: 'BF16', shape: [4], bytes: new Uint8Array(bf16.buffer) }),
    ]);
    const f = SafetensorsFile.open(file);
    expect([...f.readF32('h')]).toEqual([...f16ToF32(finiteF16)]);
    expect([...f.readF32('b')]).toEqual([1, -3, 2 ** -133]);
    expect(() => f.readF32('hx')).toThrow(`tensor "hx"[5] is Infinity`);
    expect(() => f.readF32('bx')).toThrow(`tensor "bx"[3] is Infinity`);
    f.close();
  });

  it('decodes all 65536 f16 bit patterns as the f32 of the same sign, exponent and fraction', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const got = f16ToF32(all);
    const bits = new Uint32Array(1);
    const asF32 = new Float32Array(bits.buffer);
    for (let h = 0; h < 65536; h++) {
      const sign = (h >> 15) << 31;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      let expected: number;
      if (exp === 0) expected = (h & 0x8000 ? -1 : 1) * frac * 2 ** -24;
      else {
        bits[0] = sign | ((exp === 31 ? 255 : exp - 15 + 127) << 23) | (frac << 13);
        expected = asF32[0];
      }
      if (!Object.is(got[h], expected))
        throw new Error(`f16 0x${h.toString(16)}: got ${got[h]}, expected ${expected}`);
    }
  });

  it('rounds f32 to bf16 to nearest even, keeps NaN, and round-trips bf16 values exactly', () => {
    const bits = new Uint32Array([
      0x3f808000, 0x3f818000, 0x3f808001, 0xbf7fffff, 0x7fc00001, 0x00000000,
    ]);
    expect([...f32ToBf16(new Float32Array(bits.buffer))].map((x) => x.toString(16))).toEqual([
      '3f80',
      '3f82',
      '3f81',
      'bf80',
      '7fc0',
      '0',
    ]);
    const bf16 = new Uint16Array(bytesOf(64, 9).buffer).map((x) =>
      (x & 0x7f80) === 0x7f80 ? x & 0xbfff : x,
    );
    const f32 = bf16ToF32(bf16);
    const file = tmpFile();
    writeSafetensors(file, [f32TensorToWrite('w', [32], f32, 'BF16')]);
    const f = SafetensorsFile.open(file);
    expect(Buffer.from(f.readRaw('w').bytes).equals(Buffer.from(bf16.buffer))).toBe(true);
    f.close();
  });
});

describe('streaming reads', () => {
  it('reads one tensor of a file larger than memory would allow whole (sparse 4 GiB tensor beside it)', () => {
    const big = 2 ** 32;
    const header = {
      big: { dtype: 'F32', shape: [2 ** 30], data_offsets: [0, big] },
      small: { dtype: 'F32', shape: [4], data_offsets: [big, big + 16] },
    };
    const json = Buffer.from(JSON.stringify(header));
    const file = tmpFile();
    const fd = fs.openSync(file, 'w');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd, prefix, 0, 8, 0);
    fs.writeSync(fd, json, 0, json.length, 8);
    const small = new Float32Array([1.5, -2, 3.25, 4]);
    fs.writeSync(fd, new Uint8Array(small.buffer), 0, 16, 8 + json.length + big);
    fs.closeSync(fd);
    const f = SafetensorsFile.open(file);
    expect(f.info('big').end).toBe(big);
    expect(f.readF32('small')).toEqual(small);
    f.close();
    fs.rmSync(file);
  });
});

describe('safetensors header validation', () => {
  const ok = {
    a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
    b: { dtype: 'F32', shape: [4], data_offsets: [16, 32] },
  };
  const cases: [string, () => string, SafetensorsErrorCode, RegExp][] = [
    [
      'a file shorter than the length prefix',
      () => writeRaw(new Uint8Array(5)),
      'truncated',
      /5 bytes, shorter than the 8-byte/,
    ],
    [
      'a header longer than the file',
      () => craft(ok, new Uint8Array(32), 10_000),
      'truncated',
      /claims 10000 bytes/,
    ],
    [
      'data shorter than the tensors need',
      () => craft(ok, new Uint8Array(20)),
      'truncated',
      /need 32 bytes .* only 20/,
    ],
    [
      'a header that is not JSON',
      () => writeRaw(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7b])),
      'invalid_header',
      /not valid JSON/,
    ],
    [
      'an unknown dtype',
      () => craft({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 1] } }, new Uint8Array(1)),
      'unknown_dtype',
      /"a".*"Q4"/,
    ],
    [
      'offsets past the data',
      () =>
        craft(
          { ...ok, b: { dtype: 'F32', shape: [4], data_offsets: [64, 80] } },
          new Uint8Array(40),
        ),
      'offsets_out_of_bounds',
      /"b".*\[64, 80\]/,
    ],
    [
      'reversed offsets',
      () => craft({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, new Uint8Array(8)),
      'offsets_out_of_bounds',
      /0 ≤ begin ≤ end/,
    ],
    [
      'overlapping offsets',
      () =>
        craft(
          { ...ok, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } },
          new Uint8Array(32),
        ),
      'overlapping_offsets',
      /"b".*overlap.*"a"/,
    ],
    [
      'shape × dtype ≠ byte length',
      () =>
        craft({ a: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 16] } }, new Uint8Array(16)),
      'size_mismatch',
      /\[2, 2\] × BF16 is 8 bytes .* span 16/,
    ],
  ];

  it.each(cases)('rejects %s', (_, make, code, message) => {
    const file = make();
    const err = openError(file);
    expect(err.code).toBe(code);
    expect(err.message).toContain(file);
    expect(err.message).toMatch(message);
  });

  it('accepts __metadata__ and reads tensors from a hand-crafted file', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const file = craft({ __metadata__: { format: 'pt' }, ...ok }, new Uint8Array(data.buffer));
    const f = SafetensorsFile.open(file);
    expect([...f.readF32('a')]).toEqual([1, 2, 3, 4]);
    expect([...f.readF32('b')]).toEqual([5, 6, 7, 8]);
    f.close();
  });
});

describe('sharded safetensors', () => {
  const tensors = [0, 1, 2, 3, 4].map((i) => ({
    name: `t${i}`,
    values: new Float32Array(bytesOf(40, 20 + i).buffer).map((_, j) => i * 100 + j),
  }));
  const write = (dir: string, maxShardBytes: number) =>
    writeSafetensorsModel(
      dir,
      tensors.map((t) => f32TensorToWrite(t.name, [10], t.values, 'F32')),
      maxShardBytes,
    );

  it('splits past the shard size, writes the index, and loads back', () => {
    const dir = path.dirname(tmpFile());
    const files = write(dir, 80);
    expect(files).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
      INDEX_FILE,
    ]);
    const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8'));
    expect(index.metadata.total_size).toBe(200);
    expect(index.weight_map.t2).toBe('model-00002-of-00003.safetensors');
    const m = SafetensorsModel.open(dir);
    expect(m.names).toEqual(['t0', 't1', 't2', 't3', 't4']);
    for (const t of tensors) expect(m.readF32(t.name)).toEqual(t.values);
    m.close();
  });

  it('writes a single model.safetensors when everything fits', () => {
    const dir = path.dirname(tmpFile());
    expect(write(dir, 1000)).toEqual(['model.safetensors']);
    const m = SafetensorsModel.open(dir);
    expect(m.readF32('t4')).toEqual(tensors[4].values);
    m.close();
  });

  function shardedError(
    edit: (dir: string, index: { weight_map: Record<string, string> }) => void,
  ) {
    const dir = path.dirname(tmpFile());
    write(dir, 80);
    const indexPath = path.join(dir, INDEX_FILE);
    const index = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
    edit(dir, index);
    fs.writeFileSync(indexPath, JSON.stringify(index));
    try {
      SafetensorsModel.open(dir).close();
    } catch (e) {
      expect(e).toBeInstanceOf(SafetensorsError);
      return e as SafetensorsError;
    }
    throw new Error('expected the sharded model to be rejected');
  }

  it('rejects a missing shard, a listed tensor absent from its shard, and an unlisted tensor', () => {
    const missing = shardedError((dir) =>
      fs.rmSync(path.join(dir, 'model-00003-of-00003.safetensors')),
    );
    expect(missing.code).toBe('missing_file');
    expect(missing.message).toMatch(/model-00003-of-00003.safetensors", which does not exist/);
    const absent = shardedError((_, index) => {
      index.weight_map.t0 = 'model-00002-of-00003.safetensors';
    });
    expect([absent.code, absent.tensor]).toEqual(['missing_tensor', 't0']);
    const unlisted = shardedError((_, index) => {
      delete index.weight_map.t3;
    });
    expect([unlisted.code, unlisted.tensor]).toEqual(['unexpected_tensor', 't3']);
    const outside = shardedError((_, index) => {
      index.weight_map.t4 = '../elsewhere.safetensors';
    });
    expect(outside.code).toBe('invalid_header');
  });
});
