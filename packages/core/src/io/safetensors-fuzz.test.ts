import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fuzzSeed, isClearError, mutateBytes, rng } from './fuzz.js';
import { rawTensorToWrite, SafetensorsFile, writeSafetensors } from './safetensors.js';
import { MAX_HEADER_BYTES, SafetensorsError } from './safetensors-header.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-fuzz-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const CASES = 600;
/** Per-case bound: opening and reading a ~1 KiB file takes well under a millisecond. */
const CASE_MS = 500;

describe('safetensors header fuzz', () => {
  const valid = path.join(root, 'valid.safetensors');
  writeSafetensors(valid, [
    rawTensorToWrite('a.weight', {
      dtype: 'F32',
      shape: [4, 8],
      bytes: new Uint8Array(new Float32Array(32).map((_, i) => i / 7).buffer),
    }),
    rawTensorToWrite('b', { dtype: 'BF16', shape: [16], bytes: new Uint8Array(32).fill(0x3f) }),
    rawTensorToWrite('c', { dtype: 'F16', shape: [2, 3], bytes: new Uint8Array(12).fill(0x3c) }),
  ]);
  const bytes = new Uint8Array(fs.readFileSync(valid));
  const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));

  it(`${CASES} mutated files open and read, or fail with a SafetensorsError naming the file`, () => {
    const r = rng(fuzzSeed(20261204));
    const file = path.join(root, 'case.safetensors');
    const outcomes = { ok: 0, refused: 0 };
    for (let c = 0; c < CASES; c++) {
      // most edits land in the length prefix and the JSON header, where the parser works
      const mutated = mutateBytes(r, bytes, r() < 0.85 ? headerEnd : bytes.length);
      fs.writeFileSync(file, mutated);
      const start = performance.now();
      try {
        const f = SafetensorsFile.open(file);
        try {
          for (const name of f.tensors.keys()) f.readF32(name);
        } finally {
          f.close();
        }
        outcomes.ok++;
      } catch (e) {
        if (!(e instanceof SafetensorsError) || !isClearError(e, file)) {
          throw new Error(`case ${c}: not a clear error: ${(e as Error)?.stack ?? e}`);
        }
        outcomes.refused++;
      }
      expect(performance.now() - start, `case ${c}`).toBeLessThan(CASE_MS);
    }
    // both outcomes occur, or the mutations are not exercising the parser
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(CASES / 2);
  });

  it('a header length over 100 MB is refused before allocating, even when the file is that big', () => {
    const file = path.join(root, 'huge.safetensors');
    // a sparse 200 MB file: no disk used, but the length check against the file size passes
    fs.writeFileSync(file, new Uint8Array(8));
    fs.truncateSync(file, 200_000_000);
    const fd = fs.openSync(file, 'r+');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES + 1));
    fs.writeSync(fd, prefix, 0, 8, 0);
    fs.closeSync(fd);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => SafetensorsFile.open(file)).toThrow(
      `${file}: header length 100000001 exceeds the 100000000-byte limit of the format`,
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(10 * 2 ** 20);
  });
});
