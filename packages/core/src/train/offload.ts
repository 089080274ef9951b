import type { Backend } from '../backend/backend.js';
import type { ModelGrads } from '../model/backward.js';
import type { ModelConfig } from '../model/config.js';
import { numel, paramSpecs, type WeightMap } from '../model/params.js';
import type { ModelWeights } from '../model/weights.js';
import type { HostOptimizer } from './host-optimizer/pool.js';
import type { OptimizerPlacement } from './memory-plan.js';
import type { OptimizerConfig } from './optimizer.js';

/**
 * Where the f32 master weights and the optimizer state live (docs/architecture.md#scale). 'device': on the
 * backend, updated by its adamwUpdate/sgdUpdate. 'host' (ZeRO-offload): in host memory, updated
 * by the host optimizer, while the device keeps only the compute weights, the gradients and one
 * micro-batch's activations — no m, v on the device at all (7B: 61 GB less there).
 */
export type OptimizerOn = OptimizerPlacement;

/**
 * The default per backend: ORT's optimizer already runs on the host (its binding keeps no
 * tensor on the GPU), so 'host' is what it does; Dawn and the reference keep it on the device.
 */
export function defaultOptimizerOn(kind: Backend['kind']): OptimizerOn {
  return kind === 'ort' ? 'host' : 'device';
}

/**
 * Whether the trainer runs the offloaded step itself. On ORT 'host' is inherent (its
 * adamwUpdate is a host op over host arrays), so the trainer's offload would only copy twice;
 * 'device' cannot be honoured there and is refused naming the flag.
 */
export function trainerOffloads(kind: Backend['kind'], on: OptimizerOn): boolean {
  if (kind === 'ort') {
    if (on === 'device')
      throw new Error(
        `--optimizer-on device: the ort backend keeps no tensor on the GPU between runs, so its optimizer always runs on the host; use --optimizer-on host (its default) or --backend dawn`,
      );
    return false;
  }
  return on === 'host';
}

/** The host-resident half of an offloaded run: f32 master weights and AdamW moments by name. */
export interface HostOptimizerState {
  /** optimizer updates done so far (AdamW's bias-correction step) */
  step: number;
  master: WeightMap;
  /** empty for SGD */
  m: WeightMap;
  v: WeightMap;
}

/**
 * The host state of a run. `adopt`: take the arrays of `weights` as the master and delete them
 * from the map (the caller released them: the master is then the only host copy); otherwise
 * copy, so the caller's arrays are never updated under it. `moments` (resume) are adopted too.
 */
export function createHostOptimizerState(
  config: ModelConfig,
  kind: OptimizerConfig['kind'],
  weights: WeightMap,
  opts: { adopt: boolean; moments?: { m: WeightMap; v: WeightMap }; step?: number },
): HostOptimizerState {
  const master: WeightMap = new Map();
  const m: WeightMap = new Map();
  const v: WeightMap = new Map();
  for (const s of paramSpecs(config)) {
    const values = weights.get(s.name);
    if (!values) throw new Error(`optimizer on host: parameter '${s.name}' is missing`);
    master.set(s.name, opts.adopt ? values : Float32Array.from(values));
    if (opts.adopt) weights.delete(s.name);
    if (kind !== 'adamw') continue;
    const n = numel(s.shape);
    const mi = opts.moments?.m.get(s.name) ?? zeros(n);
    const vi = opts.moments?.v.get(s.name) ?? zeros(n);
    if (mi.length !== n || vi.length !== n)
      throw new Error(`optimizer on host: the moments of '${s.name}' have the wrong length`);
    m.set(s.name, mi);
    v.set(s.name, vi);
  }
  return { step: opts.step ?? 0, master, m, v };
}

/** Shared from the start, so the worker pool need not move them on its first update. */
function zeros(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(n * 4));
}

/**
 * One offloaded optimizer update, tensor by tensor so the host holds one gradient at a time:
 * read the (accumulated) gradient down and dispose it on the device, update master/m/v in
 * place on the host (clip factor and 1/microCount in `gradScale`), then replace the device
 * weight by the new master through `upload` (as uploadWeights does, so a backend's compute
 * copy, e.g. Dawn's bf16, is rebuilt from it, and then `keepComputeCopyOnly`: the device
 * may keep that copy alone). Traffic: the gradients down once, the weights up once. Empties
 * `grads`.
 */
export async function hostOptimizerUpdate(
  backend: Backend,
  w: ModelWeights,
  grads: ModelGrads,
  state: HostOptimizerState,
  cfg: OptimizerConfig,
  gradScale: number,
  pool: HostOptimizer,
): Promise<void> {
  state.step += 1;
  for (const [name, g] of grads) {
    const p = w.get(name);
    const master = state.master.get(name);
    if (!p || !master) throw new Error(`optimizer: gradient for unknown parameter ${name}`);
    const grad = await backend.read(g);
    backend.dispose(g);
    grads.delete(name);
    if (!(grad instanceof Float32Array) || grad.length !== master.length)
      throw new Error(
        `optimizer on host: gradient ${name} is not an f32 tensor of its parameter's size`,
      );
    if (cfg.kind === 'adamw') {
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (!m || !v) throw new Error(`optimizer: no AdamW state for ${name}`);
      const [, m2, v2] = pool.adamw(master, grad, m, v, {
        lr: cfg.lr,
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.eps,
        weightDecay: cfg.weightDecay,
        step: state.step,
        gradScale,
      });
      state.m.set(name, m2);
      state.v.set(name, v2);
    } else {
      pool.sgd(master, grad, { lr: cfg.lr, weightDecay: cfg.weightDecay, gradScale });
    }
    // dispose first: the device never holds two copies of a weight
    const shape = p.shape;
    backend.dispose(p);
    const t = backend.upload(master, shape);
    backend.keepComputeCopyOnly?.(t);
    w.set(name, t);
  }
}
