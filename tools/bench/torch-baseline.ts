/**
 * Runs tools/bench/torch_em_step.py (Debian's python3-torch; a benchmark-only tool, never a
 * dependency of npm test) on the same model shape and the same given completions as the
 * trainer's EM step, and returns its last step's times. PyTorch runs all rows as one batch:
 * compare it with an EM step whose micro-batch is the whole effective batch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_CLIP, BENCH_OPTIMIZER, benchRows, type Workload } from './measure.js';
import type { BenchModel } from './models.js';

export interface TorchStep {
  loss: number;
  grad_norm: number;
  loss_grad_s: number;
  optimizer_s: number;
  update_s: number;
  tokens: number;
  threads: number;
  torch: string;
  params: number;
}

const SCRIPT = join(import.meta.dirname, 'torch_em_step.py');

/** Debian's interpreter, where python3-torch installs (a pyenv shim on PATH would not see it). */
export const DEFAULT_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** One warm-up step and `measured` timed ones; the script reports the fastest. */
export function runTorchStep(
  model: BenchModel,
  wl: Workload,
  measured: number,
  python = DEFAULT_PYTHON,
): TorchStep {
  const dir = mkdtempSync(join(tmpdir(), 'oneshot-em-torch-'));
  try {
    const request = join(dir, 'request.json');
    writeFileSync(
      request,
      JSON.stringify({
        config: model.config,
        rows: benchRows(model, wl.effectiveBatch, wl),
        pad_id: model.padId,
        temperature: 0.5,
        optimizer: BENCH_OPTIMIZER,
        clip: BENCH_CLIP,
        steps: 1 + measured,
        seed: 1,
      }),
    );
    // GNU OpenMP's default spin-waiting collapses on a shared, oversubscribed machine (each
    // small op waits ~20 ms for descheduled spinners: 5× slower here); passive waits are fair.
    const env = { OMP_WAIT_POLICY: 'PASSIVE', ...process.env };
    const r = spawnSync(python, [SCRIPT, '--request', request], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
      env,
    });
    if (r.error || r.status !== 0) {
      const last = r.stderr.trim().split('\n').pop() ?? '';
      throw new Error(
        `--torch: ${python} ${SCRIPT} failed (${r.error?.message ?? `exit ${r.status}`}: ${last}); ` +
          'it needs PyTorch for that python3 (Debian: apt-get install -y python3-torch)',
      );
    }
    const last = r.stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(last) as TorchStep;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
