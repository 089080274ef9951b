/**
 * The memory plan (core's planMemory) of a bench run, next to what the run measured: the
 * EM step's and the scale stage's `plan` (host_bytes, device_bytes) and RSS / plan.
 */
import { type PlanBackend, planMemory } from '@oneshot-em/core';
import type { OptimizerOn } from '@oneshot-em/core/node';
import type { BackendSpec } from './backends.js';
import type { Workload } from './measure.js';
import type { BenchModel } from './models.js';

export interface BenchPlan {
  host_bytes: number;
  device_bytes: number;
}

/** A Dawn backend on a software adapter (lavapipe): its "device" memory is the process's. */
export function deviceIsHost(backend: unknown): boolean {
  return (backend as { adapter?: { isFallback?: boolean } }).adapter?.isFallback === true;
}

export function planBackendOf(spec: BackendSpec): PlanBackend {
  if (spec.kind === 'ort') return spec.device?.startsWith('cuda') ? 'ort-cuda' : 'ort-cpu';
  return spec.kind;
}

/**
 * The plan of the trainer on the bench's given completions (no sampling: no KV cache).
 * `deviceIsHost`: a software Dawn adapter (lavapipe), whose buffers the RSS includes.
 */
export function benchPlan(
  spec: BackendSpec,
  model: BenchModel,
  wl: Workload,
  poolBytes?: number,
  deviceIsHost = false,
  optimizerOn?: OptimizerOn,
): BenchPlan {
  const p = planMemory({
    config: model.config,
    backend: planBackendOf(spec),
    microBatch: wl.microBatch,
    effectiveBatch: wl.effectiveBatch,
    promptTokens: wl.promptTokens,
    maxNewTokens: wl.newTokens,
    sampling: false,
    optimizer: 'adamw',
    optimizerOn,
    poolBytes,
    deviceIsHost,
  });
  return { host_bytes: p.host_bytes, device_bytes: p.device_bytes };
}
