import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyModelConfig, tinyModelWeights } from '../testing/fixtures.js';
import { recoverInterruptedWrite, writeDirAtomically } from './atomic.js';
import { loadHfModel, saveHfModel } from './hf-model.js';
import { INDEX_FILE } from './safetensors-index.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-test-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('writeDirAtomically', () => {
  it('creates, then replaces a directory whole (no file of the old one survives)', () => {
    const dir = path.join(root, 'plain');
    writeDirAtomically(dir, (d) => fs.writeFileSync(path.join(d, 'a.txt'), 'old'));
    writeDirAtomically(dir, (d) => fs.writeFileSync(path.join(d, 'b.txt'), 'new'));
    expect(fs.readdirSync(dir)).toEqual(['b.txt']);
    expect(fs.readdirSync(root).sort()).toEqual(['plain']);
  });

  it('leaves the old directory when the writer throws', () => {
    const dir = path.join(root, 'throws');
    writeDirAtomically(dir, (d) => fs.writeFileSync(path.join(d, 'a.txt'), 'old'));
    expect(() =>
      writeDirAtomically(dir, (d) => {
        fs.writeFileSync(path.join(d, 'a.txt'), 'half');
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('old');
  });

  it('refuses to replace a file', () => {
    const file = path.join(root, 'file');
    fs.writeFileSync(file, 'x');
    expect(() => writeDirAtomically(file, () => {})).toThrow(/not a directory/);
  });
});

describe('a save killed (SIGKILL) at a random moment', () => {
  const child = fileURLToPath(new URL('./atomic-crash-child.ts', import.meta.url));
  const config = tinyModelConfig('llama');
  const candidates = [tinyModelWeights(config, 1), tinyModelWeights(config, 2)];
  /** The child's shard sizes (atomic-crash-child.ts): the two saves differ in shard count. */
  const SHARD_SIZES = [50_000, 15_000];
  const shardCount = (i: number) => {
    const d = path.join(root, 'crash-shard-count');
    const n = saveHfModel(d, config, candidates[i], { maxShardSize: SHARD_SIZES[i] }).filter((f) =>
      /^model-\d{5}-of-\d{5}\.safetensors$/.test(f),
    ).length;
    fs.rmSync(d, { recursive: true });
    return n;
  };

  /** Runs the child until it has saved `saves` times, then kills it `delayMs` later. */
  function killDuringSaves(dir: string, saves: number, delayMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      proc.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.split('\n').length > saves) setTimeout(() => proc.kill('SIGKILL'), delayMs);
      });
      proc.stderr.on('data', (chunk) => {
        err += chunk;
      });
      proc.on('exit', (_, signal) =>
        signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited: ${err}`)),
      );
    });
  }

  it('leaves one of the two complete checkpoints, every time', async () => {
    const shardCounts = [shardCount(0), shardCount(1)];
    expect(shardCounts[0]).not.toBe(shardCounts[1]);
    for (const delayMs of [0, 1, 3, 7]) {
      const dir = path.join(root, `crash-${delayMs}`);
      await killDuringSaves(dir, 2, delayMs);
      recoverInterruptedWrite(dir);
      const loaded = loadHfModel(dir).weights;
      const name = 'model.layers.1.mlp.down_proj.weight';
      const match = candidates.findIndex((w) =>
        (w.get(name) as Float32Array).every((v, i) => v === loaded.get(name)?.[i]),
      );
      expect(match, `after a kill ${delayMs} ms into a save`).toBeGreaterThanOrEqual(0);
      for (const [n, v] of candidates[match]) expect(loaded.get(n), n).toEqual(v);
      // exactly the shards of that save: none of the other save's (different shard count)
      const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8'));
      const listed = new Set(Object.values(index.weight_map as Record<string, string>));
      const onDisk = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
      expect(onDisk.sort()).toEqual([...listed].sort());
      expect(listed.size).toBe(shardCounts[match]);
    }
  });
});
