/**
 * The memory plan (docs/architecture.md#scale, "plan before allocating"): host and device bytes of one training
 * run, itemised, computed from the model config and the run's knobs alone — nothing is loaded
 * or allocated, so an absurd config (1e9 layers, a 1e12-token context) is refused on paper.
 *
 * Shapes (legend: model/config.ts): N = B·T training tokens of one micro-batch, with
 * B = micro_batch and T = prompt + new tokens; Smax = T for the rollouts' KV cache.
 *
 * Peak model: every item belongs to a phase. `persistent` items live for the whole run;
 * `rollout` (sampling one micro-batch), `train` (forward + backward of one micro-batch) and
 * `save` (a checkpoint) never overlap, so a side's peak is persistent + the largest phase.
 *
 * Assumptions, per backend (what the code does, or the design being built — say so there):
 * - ORT (CPU and CUDA EP): master weights, gradients and AdamW state are f32 host arrays and
 *   the optimizer runs on the host (ZeRO-offload style). The target host budget is
 *   ≤ 24 B/param: weights 4 + gradient accumulator 4 + m, v 8 + one micro-batch's gradient
 *   outputs 4 (only when accumulating over several micro-batches) + ORT's copy of the session
 *   outputs 4 (the binding copies each output into a JS buffer, so both exist for a moment).
 *   The loaded weights are the master copy (one copy, not two). On the CPU EP the "device" is
 *   host memory: everything is counted once, as host. On the CUDA EP the weights are fed to
 *   every run (no device-resident tensors in the Node binding), so the device holds the
 *   compute weights, the activations and the gradient outputs of one run.
 * - Dawn: weights, gradients, optimizer state, activations and KV cache are GPU buffers; the
 *   host keeps the loaded f32 weights. The buffer pool rounds sizes up (buffers.ts: 8 classes
 *   per power of two above 64 KiB, computed here the same way) and keeps up to `poolBytes`
 *   of disposed buffers for reuse. With `optimizerOn: 'host'` (train/offload.ts) the f32 master
 *   (the loaded weights, adopted) and AdamW m, v are host memory; the device keeps the uploaded
 *   f32 weights, the gradients and the activations — or, with a bf16/f16 compute dtype, the
 *   compute copy of the matrices alone (`keepComputeCopyOnly`), the f32 vectors (norm gains,
 *   biases) and one matrix's f32 upload at a time.
 * - Reference: everything is host memory (f32 arrays), like the ORT CPU EP.
 * - Activations are f32 whatever the compute dtype (the kernels accumulate and store f32);
 *   a bf16/f16 compute dtype adds a compute copy of the weights next to the f32 master.
 * - The head works on 256 tokens at a time (model/head.ts): logits are [256, V], never [N, V].
 * - ORT's attention materialises scores [B, H, T, S], and with graph optimisation 'all' its
 *   common-subexpression elimination merges the backward's recomputation with the forward, so
 *   score-sized intermediates of every layer stay alive until the backward: measured as
 *   ORT_SCORE_COPIES per layer (peak RSS of qwen2-25m at T = 48, 256, 512, 2 micro-batches,
 *   backend-ort at d0e3b30: the excess over the rest of the plan grows as L·B·H·T²). Dawn's
 *   kernels are tiled and keep none.
 * - Measured on the same runs, ORT's accumulation over micro-batches costs one more f32 copy of
 *   the gradients (28 B/param, not the 24 of the target design); it is its own item.
 * - ORT's decode `Loop` carries the KV cache as loop state: an iteration's input and output
 *   caches exist together (×2).
 */
import type { ModelConfig } from '../model/config.js';
import { formatBytes } from './byte-size.js';

export type PlanBackend = 'ort-cpu' | 'ort-cuda' | 'dawn' | 'reference';
export type PlanDtype = 'f32' | 'bf16' | 'f16';
export type PlanPhase = 'persistent' | 'rollout' | 'train' | 'save';
export type OptimizerPlacement = 'host' | 'device';

export interface MemoryPlanInput {
  config: ModelConfig;
  backend: PlanBackend;
  /** the compute copy of the weights (master weights and optimizer state are always f32) */
  dtype?: PlanDtype;
  microBatch: number;
  effectiveBatch: number;
  /** P: the longest prompt, in tokens */
  promptTokens: number;
  /** G: new tokens per completion (given rollouts: the longest completion) */
  maxNewTokens: number;
  /** false when completions are given (--rollouts): no sampling, no KV cache */
  sampling?: boolean;
  optimizer: 'adamw' | 'sgd';
  /** default: host on ORT and the reference, device on Dawn */
  optimizerOn?: OptimizerPlacement;
  /** Dawn's pool of disposed buffers kept for reuse (default 2 GiB, as createDawnBackend) */
  poolBytes?: number;
  /** the process before any tensor: Node, the modules, the native libraries (default: measured) */
  runtimeBytes?: number;
  /** Dawn on a software adapter (lavapipe): its buffers are host memory, counted as host */
  deviceIsHost?: boolean;
}

export interface MemoryItem {
  name: string;
  phase: PlanPhase;
  host_bytes: number;
  device_bytes: number;
  note: string;
}

export interface MemoryPlan {
  backend: PlanBackend;
  dtype: PlanDtype;
  params: number;
  /** T = prompt + new tokens */
  context_tokens: number;
  /** N = micro_batch · T */
  tokens: number;
  /** the device is host memory (ORT CPU EP, reference): every byte is counted under host */
  unified: boolean;
  optimizer_on: OptimizerPlacement;
  /** peaks: persistent + the largest phase */
  host_bytes: number;
  device_bytes: number;
  items: MemoryItem[];
  /** set when the numbers are beyond any machine (not exact integers any more) */
  absurd?: string;
}

/**
 * The process apart from its tensors: Node 20 + tsx + core, the backend's native library, its
 * compiled graphs or pipelines. Measured as tools/bench's EM-step peak RSS on stories260K (where
 * tensors are a few MiB) minus the plan's other items: reference 147 MiB, ORT CPU EP 185 MiB,
 * Dawn on lavapipe 332 MiB (its JIT-compiled kernels); rounded up.
 */
export const RUNTIME_BYTES: Record<'reference' | 'ort' | 'dawn', number> = {
  reference: 150 * 2 ** 20,
  ort: 190 * 2 ** 20,
  dawn: 340 * 2 ** 20,
};

const DEFAULT_POOL_BYTES = 2 ** 31;
/** ORT: [B, H, T, S] f32 intermediates alive per layer in one training run (fit, see above) */
const ORT_SCORE_COPIES = 7;
const HEAD_CHUNK_TOKENS = 256;
const F32 = 4;

export function dtypeBytes(dtype: PlanDtype): number {
  return dtype === 'f32' ? 4 : 2;
}

/** Parameter tensors as element counts with multiplicities, without one entry per layer. */
function paramTensors(c: ModelConfig): Array<{ elements: number; count: number; matrix: boolean }> {
  const C = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const F = c.intermediateSize;
  const L = c.numLayers;
  const t = [
    { elements: c.vocabSize * C, count: c.tieWordEmbeddings ? 1 : 2, matrix: true },
    { elements: C, count: 2 * L + 1, matrix: false },
    { elements: qDim * C, count: 2 * L, matrix: true },
    { elements: kvDim * C, count: 2 * L, matrix: true },
    { elements: F * C, count: 3 * L, matrix: true },
  ];
  if (c.qkvBias)
    t.push(
      { elements: qDim, count: L, matrix: false },
      { elements: kvDim, count: 2 * L, matrix: false },
    );
  if (c.oBias) t.push({ elements: C, count: L, matrix: false });
  return t;
}

/** The parameter count by formula (equal to paramCount(config), without building the table). */
export function plannedParamCount(c: ModelConfig): number {
  return paramTensors(c).reduce((s, t) => s + t.elements * t.count, 0);
}

/** Dawn's buffer size for a request (runtime/buffers.ts `sizeClass`, no maxBytes cap). */
function dawnSizeClass(bytes: number): number {
  const aligned = Math.max(256, Math.ceil(bytes / 256) * 256);
  if (aligned <= 64 * 1024) return aligned;
  const step = 2 ** Math.floor(Math.log2(aligned)) / 8;
  return Math.ceil(aligned / step) * step;
}

/** Extra bytes the pool's size classes add to one f32 copy of every parameter tensor. */
function dawnParamRounding(c: ModelConfig): number {
  return paramTensors(c).reduce(
    (s, t) => s + (dawnSizeClass(t.elements * F32) - t.elements * F32) * t.count,
    0,
  );
}

/** Floats one layer saves for its backward (forward.ts `LayerActivations`), per token. */
function savedFloatsPerToken(c: ModelConfig): number {
  const C = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const F = c.intermediateSize;
  // x, ln1, x1, ln2 [N, C]; q, att [N, H·D]; k, v [N, K·D]; gate, up, act [N, F];
  // rstd1, rstd2 [N]; lse [B, H, T]
  return 4 * C + 2 * qDim + 2 * kvDim + 3 * F + 2 + c.numHeads;
}

/** Floats of the widest point of one layer's backward (backward.ts scratch), per token. */
function backwardScratchPerToken(c: ModelConfig): number {
  const C = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  // dAct, dGate, dUp [N, F]; dx, dLn2, its two matmul terms, dx1 [N, C]; dq, dqLinear [N, H·D]; dk, dv [N, K·D]
  return 3 * c.intermediateSize + 5 * C + 2 * qDim + 2 * kvDim;
}

/** The plan for one run. Never allocates; cost is independent of the layer count. */
export function planMemory(input: MemoryPlanInput): MemoryPlan {
  const c = input.config;
  const dtype = input.dtype ?? 'f32';
  const backend = input.backend;
  const ort = backend === 'ort-cpu' || backend === 'ort-cuda';
  const unified =
    backend === 'ort-cpu' ||
    backend === 'reference' ||
    (backend === 'dawn' && !!input.deviceIsHost);
  const optimizerOn: OptimizerPlacement =
    input.optimizerOn ?? (backend === 'dawn' ? 'device' : 'host');
  const sampling = input.sampling ?? true;
  const B = input.microBatch;
  const T = input.promptTokens + input.maxNewTokens;
  const N = B * T;
  const C = c.hiddenSize;
  const V = c.vocabSize;
  const L = c.numLayers;
  const H = c.numHeads;
  const kvDim = c.numKvHeads * c.headDim;
  const P = plannedParamCount(c);
  const paramBytes = P * F32;
  const microCount = Math.max(1, Math.floor(input.effectiveBatch / B));

  const items: MemoryItem[] = [];
  // Where a tensor lives: unified backends put everything on the host.
  const onDevice = (name: string, phase: PlanPhase, bytes: number, note: string) =>
    items.push(
      unified
        ? { name, phase, host_bytes: bytes, device_bytes: 0, note }
        : { name, phase, host_bytes: 0, device_bytes: bytes, note },
    );
  const onHost = (name: string, phase: PlanPhase, bytes: number, note: string) =>
    items.push({ name, phase, host_bytes: bytes, device_bytes: 0, note });
  const at = (side: OptimizerPlacement) => (side === 'host' ? onHost : onDevice);

  // --- persistent: weights, gradients, optimizer state
  if (backend === 'dawn' && optimizerOn === 'device') {
    onHost('weights (f32, as loaded)', 'persistent', paramBytes, 'the loaded WeightMap');
  }
  at(optimizerOn)('weights (f32 master)', 'persistent', paramBytes, `${P} params × 4 B`);
  if (dtype !== 'f32') {
    onDevice(
      `weights (${dtype} compute copy)`,
      'persistent',
      P * dtypeBytes(dtype),
      'next to the f32 master',
    );
  } else if (backend === 'ort-cuda') {
    onDevice(
      'weights (fed to each run)',
      'persistent',
      paramBytes,
      'the binding keeps no device tensors between runs',
    );
  }
  if (backend === 'dawn' && optimizerOn === 'host') {
    if (dtype === 'f32') {
      onDevice('weights (f32, uploaded)', 'persistent', paramBytes, 'the master stays on the host');
    } else {
      // the matrices keep only the compute copy; each upload is f32 until it is rounded
      const tensors = paramTensors(c);
      const vectors = tensors.reduce((n, t) => n + (t.matrix ? 0 : t.elements * t.count), 0);
      const staged = Math.max(...tensors.filter((t) => t.matrix).map((t) => t.elements));
      onDevice(
        'weights (f32 vectors, one matrix staged)',
        'persistent',
        (vectors + staged) * F32,
        'the master stays on the host; matrices keep only the compute copy',
      );
    }
  }
  const gradSide = ort || unified ? onHost : onDevice;
  gradSide('gradients (accumulator, f32)', 'persistent', paramBytes, 'summed over micro-batches');
  if (input.optimizer === 'adamw') {
    at(optimizerOn)(
      'optimizer state (AdamW m, v)',
      'persistent',
      2 * paramBytes,
      '2 × f32 per param',
    );
  }
  if (backend === 'dawn') {
    onDevice(
      'buffer size classes (Dawn pool)',
      'persistent',
      dawnParamRounding(c) *
        (2 + (input.optimizer === 'adamw' && optimizerOn === 'device' ? 2 : 0)),
      'rounding of weights, gradients and optimizer buffers',
    );
  }

  // --- train: one micro-batch's forward + backward
  const trainPhase: MemoryItem[] = [];
  const before = items.length;
  if (microCount > 1) {
    gradSide(
      'gradients (this micro-batch)',
      'train',
      paramBytes,
      'before they join the accumulator',
    );
  }
  if (ort) {
    onHost(
      'ORT session outputs (copy)',
      'train',
      paramBytes,
      'outputs exist natively and as JS arrays',
    );
    if (backend === 'ort-cuda') {
      onDevice(
        'gradients (run outputs)',
        'train',
        paramBytes,
        'produced on the device, copied to the host',
      );
    }
  }
  onDevice(
    'activations saved for backward',
    'train',
    F32 * (L * N * savedFloatsPerToken(c) + N * (2 * C + 1)),
    `${L} layers × ${N} tokens × ${savedFloatsPerToken(c)} f32 (+ final norm, hidden)`,
  );
  onDevice(
    'backward scratch (one layer)',
    'train',
    F32 * N * backwardScratchPerToken(c),
    'the widest layer gradients at once',
  );
  const chunk = Math.min(N, HEAD_CHUNK_TOKENS);
  onDevice('logits (one head chunk)', 'train', F32 * chunk * V, `[${chunk}, ${V}] f32`);
  onDevice('vocab-grad temporary (dLogits)', 'train', F32 * chunk * V, `[${chunk}, ${V}] f32`);
  onDevice('head weight-grad temporaries', 'train', 2 * F32 * V * C, 'partial and summed [V, C]');
  if (ort) {
    onDevice(
      'attention score intermediates (every layer)',
      'train',
      ORT_SCORE_COPIES * F32 * L * B * H * T * T,
      `${ORT_SCORE_COPIES} × ${L} layers × [${B}, ${H}, ${T}, ${T}] f32 (measured)`,
    );
    if (microCount > 1) {
      onHost(
        'ORT accumulation copy (measured)',
        'train',
        paramBytes,
        'a copy of the gradients when accumulating; the ≤ 24 B/param target drops it',
      );
    }
  }
  trainPhase.push(...items.slice(before));

  // --- rollout: sampling one micro-batch with a KV cache
  if (sampling) {
    const kvCopies = ort ? 2 : 1;
    onDevice(
      'KV cache',
      'rollout',
      kvCopies * F32 * B * L * 2 * T * kvDim,
      `${kvCopies > 1 ? '2 (loop state) × ' : ''}[${B}, ${L}, 2, ${T}, ${kvDim}] f32`,
    );
    const P0 = input.promptTokens;
    onDevice('decode logits and presence', 'rollout', 2 * F32 * B * V, `[${B}, ${V}] f32 + i32`);
    onDevice(
      'prefill activations (one layer)',
      'rollout',
      F32 * B * P0 * (savedFloatsPerToken(c) + C) + (ort ? 3 * F32 * B * H * P0 * T : 0),
      `${B} × ${P0} prompt tokens`,
    );
  }

  // --- save: a checkpoint streams tensor by tensor; the largest one is read and encoded
  const largest = F32 * V * C;
  onHost(
    'checkpoint write buffers',
    'save',
    2 * largest,
    'the largest tensor read back and encoded',
  );

  // --- fixed: the runtime and Dawn's pool of disposed buffers
  onHost(
    'runtime (Node, modules, native libraries)',
    'persistent',
    input.runtimeBytes ?? RUNTIME_BYTES[ort ? 'ort' : backend === 'dawn' ? 'dawn' : 'reference'],
    'measured RSS before any tensor',
  );
  if (backend === 'dawn') {
    const transient = trainPhase.reduce((s, i) => s + i.device_bytes, 0);
    onDevice(
      'buffer pool (disposed, kept for reuse)',
      'persistent',
      Math.min(input.poolBytes ?? DEFAULT_POOL_BYTES, transient),
      'at most poolBytes',
    );
  }

  const peak = (side: 'host_bytes' | 'device_bytes') => {
    const sum = (phase: PlanPhase) =>
      items.filter((i) => i.phase === phase).reduce((s, i) => s + i[side], 0);
    return sum('persistent') + Math.max(sum('rollout'), sum('train'), sum('save'));
  };
  const plan: MemoryPlan = {
    backend,
    dtype,
    params: P,
    context_tokens: T,
    tokens: N,
    unified,
    optimizer_on: optimizerOn,
    host_bytes: peak('host_bytes'),
    device_bytes: peak('device_bytes'),
    items,
  };
  const worst = Math.max(plan.host_bytes, plan.device_bytes);
  if (!Number.isSafeInteger(worst)) {
    plan.absurd = `the plan needs ${formatBytes(worst)}: beyond any machine (${P.toExponential(2)} parameters, ${N.toExponential(2)} tokens per micro-batch)`;
  }
  return plan;
}

export { formatBytes, parseByteSize } from './byte-size.js';
