import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyModelConfig, tinyModelWeights } from '../testing/fixtures.js';
import { incomingPath, previousPath } from './atomic.js';
import type { FileIo } from './file-io.js';
import { loadHfModel, saveHfModel } from './hf-model.js';
import { freshDirs } from '../testing/files.js';

/**
 * Faults during a save: a full disk (ENOSPC) or a refused write (EACCES) is injected through the
 * write function of FileIo — not by filling a disk — part-way through a sharded save.
 */

const freshDir = freshDirs('save-faults-');

const config = tinyModelConfig('qwen2');
const oldWeights = tinyModelWeights(config, 1);
const newWeights = tinyModelWeights(config, 2);

/** Every file of `dir` with its bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  return new Map(
    fs
      .readdirSync(dir)
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f))]),
  );
}

function expectSameFiles(dir: string, before: Map<string, Buffer>): void {
  const after = snapshot(dir);
  expect([...after.keys()]).toEqual([...before.keys()]);
  for (const [f, bytes] of before) expect(after.get(f)?.equals(bytes), f).toBe(true);
}

/** A write function that fails with `code` once `limit` bytes have been written. */
function failingIo(code: string, limit: number): FileIo {
  let written = 0;
  return {
    chunkBytes: 1024,
    write: (fd, buffer, offset, length, position) => {
      if (written + length > limit) {
        const e = new Error(`${code}: injected, write`) as NodeJS.ErrnoException;
        e.code = code;
        throw e;
      }
      written += length;
      return fs.writeSync(fd, buffer, offset, length, position);
    },
  };
}

describe('a fault during a sharded save', () => {
  for (const code of ['ENOSPC', 'EACCES']) {
    it(`${code} part-way through names the path and leaves the previous checkpoint intact`, () => {
      const dir = freshDir();
      saveHfModel(dir, config, oldWeights, { maxShardSize: 10_000 });
      const before = snapshot(dir);
      expect([...before.keys()].filter((f) => f.startsWith('model-')).length).toBeGreaterThan(3);
      let message = '';
      try {
        // 70 KB in: past the embedding (65 KB, a shard of its own), inside a later shard
        saveHfModel(dir, config, newWeights, { maxShardSize: 8_000, io: failingIo(code, 70_000) });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(
        `${path.resolve(dir)}: not saved (the previous checkpoint there is intact)`,
      );
      expect(message).toMatch(
        new RegExp(
          `${incomingPath(dir).replace(/[.]/g, '\\.')}/model-0000[2-9]-of-\\d{5}\\.safetensors: write failed at byte \\d+: ${code}`,
        ),
      );
      expectSameFiles(dir, before);
      expect(fs.existsSync(incomingPath(dir)) || fs.existsSync(previousPath(dir))).toBe(false);
      // and the next save goes through
      saveHfModel(dir, config, newWeights, { maxShardSize: 8_000 });
      expect(loadHfModel(dir).weights.get('model.norm.weight')).toEqual(
        newWeights.get('model.norm.weight'),
      );
    });
  }

  it('a first save that fails leaves nothing behind', () => {
    const dir = freshDir();
    expect(() => saveHfModel(dir, config, newWeights, { io: failingIo('ENOSPC', 100) })).toThrow(
      /not saved \(nothing was written there\).*ENOSPC/,
    );
    expect(fs.existsSync(dir) || fs.existsSync(incomingPath(dir))).toBe(false);
  });

  it('a real OS error (the parent is a file, not a directory) names the target', () => {
    // Runs as root too (CI is root, who may write anywhere, so a read-only directory proves
    // nothing); EACCES itself is injected above.
    const parent = freshDir();
    fs.writeFileSync(parent, 'not a directory');
    expect(() => saveHfModel(path.join(parent, 'final'), config, newWeights)).toThrow(
      /final.*(ENOTDIR|EEXIST|not a directory)/i,
    );
    expect(fs.readFileSync(parent, 'utf8')).toBe('not a directory');
  });
});

describe('no stale shards survive a save with a different shard count', () => {
  it('sharded → single file → sharded', () => {
    const dir = freshDir();
    const shards = (d: string) =>
      fs
        .readdirSync(d)
        .filter((f) => f.endsWith('.safetensors'))
        .sort();
    saveHfModel(dir, config, oldWeights, { maxShardSize: 5_000 });
    const many = shards(dir);
    expect(many.length).toBeGreaterThan(5);
    saveHfModel(dir, config, newWeights);
    expect(shards(dir)).toEqual(['model.safetensors']);
    expect(fs.existsSync(path.join(dir, 'model.safetensors.index.json'))).toBe(false);
    saveHfModel(dir, config, oldWeights, { maxShardSize: 12_000 });
    const fewer = shards(dir);
    expect(fewer.length).toBeGreaterThan(1);
    expect(fewer.length).toBeLessThan(many.length);
    expect(
      fewer.every((f) => f.endsWith(`-of-${String(fewer.length).padStart(5, '0')}.safetensors`)),
    ).toBe(true);
  });
});
