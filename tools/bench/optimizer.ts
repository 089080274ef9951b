/**
 * `--only optimizer`: the ORT backend's host optimizer (HostOptimizer: in place, AdamW over a
 * worker pool) in ns/param, at the 40M shape (qwen2-25m) and a 255M one (Qwen2.5-0.5B with 8
 * layers), tensor by tensor as the trainer calls it; with --torch, torch.optim.AdamW and SGD
 * (foreach=True, and foreach=False: 1.13's CPU default) on the same tensor sizes and thread
 * count (torch_optimizer.py), each run just
 * before ours so that the two see the same machine load. gradScale is 1: torch's step has no
 * fused gradient scale (clipping is its own pass there).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { HostOptimizer } from '@oneshot-em/core/node';
import { type AdamWParams, paramSpecs } from '@oneshot-em/core';
import { QWEN2_SHAPES, qwen2Config } from './models.js';

export interface OptimizerShapeRun {
  shape: string;
  params: number;
  tensors: number;
  threads: number;
  /** medians over the measured steps */
  adamw_ns_per_param: number;
  /** CPU time of the process (all threads) per parameter: what the load cannot take away */
  adamw_cpu_ns_per_param: number;
  torch_adamw_cpu_ns_per_param: number | null;
  /** the same in-place kernel on the main thread alone */
  adamw_one_thread_ns_per_param: number;
  sgd_ns_per_param: number;
  torch_adamw_ns_per_param: number | null;
  /** torch.optim.AdamW(foreach=False): torch 1.13's default on a CPU, often the faster there */
  torch_adamw_loop_ns_per_param: number | null;
  torch_sgd_ns_per_param: number | null;
  /** ours / torch's foreach AdamW (≤ 1: ours is at least as fast) */
  adamw_ratio: number | null;
  /** ours / the faster of torch's two AdamW steps */
  adamw_ratio_best: number | null;
  torch: string | null;
}

export const OPTIMIZER_SHAPES: Record<string, number[]> = {
  '40m (qwen2-25m)': tensorSizes(qwen2Config(QWEN2_SHAPES['qwen2-25m'])),
  '255m (qwen2.5-0.5b, 8 layers)': tensorSizes(
    qwen2Config({ ...QWEN2_SHAPES['qwen2.5-0.5b'], numLayers: 8 }),
  ),
};

function tensorSizes(config: ReturnType<typeof qwen2Config>): number[] {
  return paramSpecs(config).map((s) => s.shape.reduce((a, b) => a * b, 1));
}

const HYPER: Omit<AdamWParams, 'step'> = {
  lr: 2e-5,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  gradScale: 1,
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function torchRun(python: string, sizes: number[], threads: number, steps: number) {
  const script = join(import.meta.dirname, 'torch_optimizer.py');
  // Passive OpenMP waits: spinning workers collapse on a shared machine (torch-baseline.ts).
  const r = spawnSync(
    python,
    [script, '--sizes', sizes.join(','), '--threads', String(threads), '--steps', String(steps)],
    { encoding: 'utf8', env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env }, maxBuffer: 1 << 20 },
  );
  if (r.error || r.status !== 0) {
    const last = r.stderr.trim().split('\n').pop() ?? '';
    throw new Error(
      `--torch: ${python} ${script} failed (${r.error?.message ?? `exit ${r.status}`}: ${last}); it needs PyTorch (Debian: apt-get install -y python3-torch)`,
    );
  }
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as {
    torch: string;
    threads: number;
    adamw_s: number[];
    adamw_loop_s: number[];
    adamw_cpu_s: number[];
    sgd_s: number[];
  };
}

/** Wall and process CPU seconds of each of `steps` calls of `step` (after one warm-up call). */
function timeSteps(steps: number, step: (k: number) => void, cpu: number[] = []): number[] {
  step(0);
  return Array.from({ length: steps }, (_, k) => {
    const c = process.cpuUsage();
    const t = performance.now();
    step(k + 1);
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1e6);
    return (performance.now() - t) / 1000;
  });
}

export function benchOptimizer(options: {
  threads?: number;
  steps: number;
  python: string | null;
  shapes?: string[];
}): OptimizerShapeRun[] {
  const threads = options.threads ?? availableParallelism();
  const names = options.shapes ?? Object.keys(OPTIMIZER_SHAPES);
  const runs: OptimizerShapeRun[] = [];
  for (const shape of names) {
    const sizes = OPTIMIZER_SHAPES[shape];
    if (!sizes)
      throw new Error(`optimizer shape ${shape}: expected one of ${Object.keys(OPTIMIZER_SHAPES)}`);
    const params = sizes.reduce((a, b) => a + b, 0);
    const ns = (s: number) => (s * 1e9) / params;
    // torch first, in its own process: its 16 B/param are freed before ours are allocated
    const torch = options.python ? torchRun(options.python, sizes, threads, options.steps) : null;
    console.error(`[bench] optimizer · ${shape} · ${params} params · ${threads} threads`);
    type Operands = { p: Float32Array; g: Float32Array; m: Float32Array; v: Float32Array };
    const tensors = sizes.map((n): Operands => {
      const p = new Float32Array(n);
      const g = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        p[i] = ((i * 7919) % 1000) / 1000 - 0.5;
        g[i] = (((i * 104729) % 997) / 997 - 0.5) * 0.01;
      }
      // moments in shared memory from the start, as the backend keeps them after one step
      const shared = () => new Float32Array(new SharedArrayBuffer(4 * n));
      return { p, g, m: shared(), v: shared() };
    });
    const pool = new HostOptimizer({ threads });
    const single = new HostOptimizer({ threads: 1 });
    const adamw = (opt: HostOptimizer) => (k: number) => {
      for (const t of tensors) {
        [t.p, t.m, t.v] = opt.adamw(t.p, t.g, t.m, t.v, { ...HYPER, step: k + 1 });
      }
    };
    const adamwCpu: number[] = [];
    const adamwS = timeSteps(options.steps, adamw(pool), adamwCpu);
    const singleS = timeSteps(options.steps, adamw(single));
    const sgdS = timeSteps(options.steps, () => {
      for (const t of tensors) pool.sgd(t.p, t.g, { lr: 2e-5, weightDecay: 0.01, gradScale: 1 });
    });
    void pool.destroy();
    const ours = ns(median(adamwS));
    const torchAdamw = torch ? ns(median(torch.adamw_s)) : null;
    const torchLoop = torch ? ns(median(torch.adamw_loop_s)) : null;
    runs.push({
      shape,
      params,
      tensors: sizes.length,
      threads,
      adamw_ns_per_param: ours,
      adamw_cpu_ns_per_param: ns(median(adamwCpu)),
      torch_adamw_cpu_ns_per_param: torch ? ns(median(torch.adamw_cpu_s)) : null,
      adamw_one_thread_ns_per_param: ns(median(singleS)),
      sgd_ns_per_param: ns(median(sgdS)),
      torch_adamw_ns_per_param: torchAdamw,
      torch_adamw_loop_ns_per_param: torchLoop,
      torch_sgd_ns_per_param: torch ? ns(median(torch.sgd_s)) : null,
      adamw_ratio: torchAdamw ? ours / torchAdamw : null,
      adamw_ratio_best: torchAdamw && torchLoop ? ours / Math.min(torchAdamw, torchLoop) : null,
      torch: torch ? `${torch.torch} (${torch.threads} threads)` : null,
    });
  }
  return runs;
}

export function formatOptimizer(runs: OptimizerShapeRun[]): string {
  const f = (x: number | null) => (x === null ? '—' : x.toFixed(2));
  const lines = [
    'host optimizer (ns/param; ours: in place, AdamW over main thread + workers)',
    'shape                           params      thr  adamw  1-thread  sgd   torch adamw (foreach / loop)  torch sgd  ratio (foreach / best)  cpu ns: adamw / torch foreach',
  ];
  for (const r of runs) {
    lines.push(
      `${r.shape.padEnd(31)} ${String(r.params).padStart(11)} ${String(r.threads).padStart(4)}  ${f(r.adamw_ns_per_param).padStart(5)}  ${f(r.adamw_one_thread_ns_per_param).padStart(8)}  ${f(r.sgd_ns_per_param).padStart(4)}  ${f(r.torch_adamw_ns_per_param).padStart(11)} / ${f(r.torch_adamw_loop_ns_per_param).padStart(5)}          ${f(r.torch_sgd_ns_per_param).padStart(9)}  ${f(r.adamw_ratio).padStart(5)} / ${f(r.adamw_ratio_best)}        ${f(r.adamw_cpu_ns_per_param)} / ${f(r.torch_adamw_cpu_ns_per_param)}`,
    );
  }
  return lines.join('\n');
}
