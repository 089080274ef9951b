import type { ModelConfig } from '../model/config.js';
import type { GenerateOptions, GenerateResult } from '../model/generate.js';
import type { ModelWeights } from '../model/weights.js';
import type { Tensor, TensorOps } from './tensor-ops.js';

/** Host↔device traffic, counted by every backend (tools/bench and the transfer tests read it). */
export interface TransferCounter {
  uploads: number;
  reads: number;
  bytesUp: number;
  bytesDown: number;
}

/**
 * Memory a backend holds for tensors and workspaces, in bytes. "Device" is wherever the backend
 * keeps its tensors: GPU buffers on Dawn, host arrays on ORT (whose binding keeps nothing on
 * the GPU between runs) and on the reference. `peakBytes` is the high-water mark since the
 * backend was created or since the last `resetPeakMemory()`.
 */
export interface DeviceMemory {
  liveBytes: number;
  peakBytes: number;
}

/**
 * An executor of the primitive interface. Factories are `create<Name>Backend(options)`.
 * `name` describes itself, e.g. `dawn(NVIDIA H100 · vulkan)`, `ort(cuda:0)`, `reference(f64)`.
 */
export interface Backend extends TensorOps {
  readonly name: string;
  readonly kind: 'reference' | 'ort' | 'dawn';
  /** Resolves when all queued work has finished. */
  sync(): Promise<void>;
  /** Frees every resource; the backend is unusable afterwards. */
  destroy(): Promise<void>;
  transfers(): TransferCounter;
  /**
   * Live and peak bytes of this backend's tensors (tools/bench and the micro-batch memory tests
   * read it; metrics.jsonl logs it per step).
   */
  memory(): DeviceMemory;
  /** Starts a new peak window for `memory().peakBytes`. */
  resetPeakMemory(): void;
  /**
   * acc += x in place (acc keeps its handle; x is unchanged): gradient accumulation without a
   * new tensor per micro-batch. Optional: the trainer falls back to `add` + dispose.
   */
  accumulate?(acc: Tensor, x: Tensor): void;
  /**
   * Optional. The caller holds `t`'s f32 values (the host master of an offloaded run,
   * train/offload.ts) and uses `t` from now on only as a model weight and disposes it: a
   * backend with a lower-precision compute copy of its weights (Dawn's `--dtype bf16|f16`) may
   * free its own f32 copy of the matrices and keep the compute copy alone.
   */
  keepComputeCopyOnly?(t: Tensor): void;
  /**
   * Optional fused generation (e.g. ORT's one-graph decode Loop). Same request and result as
   * core's generic `generate` over the primitives, which the conformance suite checks it against.
   */
  generate?(config: ModelConfig, w: ModelWeights, opts: GenerateOptions): Promise<GenerateResult>;
}
