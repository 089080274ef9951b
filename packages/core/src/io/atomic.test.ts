import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyModelConfig, tinyModelWeights } from '../testing/fixtures.js';
import { recoverInterruptedWrite, writeDirAtomically } from './atomic.js';
import { loadHfModel } from './hf-model.js';

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
    }
  });
});
