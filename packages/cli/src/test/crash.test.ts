import { existsSync, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { loadHfModel } from '@oneshot-em/core/node';
import { describe, expect, it } from 'vitest';
import { startCli, tinyTrainArgs, tmp } from './run-cli.js';

/**
 * A run killed (SIGKILL) while it writes a checkpoint leaves the previous checkpoint intact and
 * loadable, and never a half-written directory under a checkpoint's name.
 */
describe('a run killed during a checkpoint write', () => {
  it('leaves step_1 intact and step_2 either absent or complete', async () => {
    const out = tmp();
    const child = startCli(['train', ...tinyTrainArgs(3), '--out', out]);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const killed = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        if (!existsSync(out)) return;
        // step_2's temporary directory appears: kill at once, mid-write
        if (readdirSync(out).some((n) => n.startsWith('step_2') && n !== 'step_2')) {
          child.kill('SIGKILL');
        }
      }, 1);
      const w = watch(out, (_e, name) => {
        if (name && String(name).startsWith('step_2') && String(name) !== 'step_2')
          child.kill('SIGKILL');
      });
      child.on('exit', (_code, signal) => {
        clearInterval(timer);
        w.close();
        resolve(signal === 'SIGKILL');
      });
    });
    expect(killed, `the run ended before it could be killed:\n${stderr}`).toBe(true);
    const step1 = loadHfModel(join(out, 'step_1'));
    expect(step1.weights.size).toBeGreaterThan(0);
    if (existsSync(join(out, 'step_2'))) {
      expect(loadHfModel(join(out, 'step_2')).weights.size).toBe(step1.weights.size);
    }
    expect(existsSync(join(out, 'final'))).toBe(false);
  });
});
