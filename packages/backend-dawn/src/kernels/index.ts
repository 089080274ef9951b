/**
 * The explicit kernel registry: every WGSL entry point the backend dispatches, by family
 * (the *Subgroups families need the `subgroups` feature, matmulF16 `shader-f16`).
 */
import { attention } from './attention/attention.js';
import { decode } from './decode/decode.js';
import { elementwise } from './elementwise/elementwise.js';
import { embedding } from './embedding/embedding.js';
import { kvCache } from './kv-cache/kv-cache.js';
import { matmulF16, matmulTile16, matmulTile64 } from './matmul/matmul.js';
import { optimizer } from './optimizer/optimizer.js';
import { reduce } from './reduce/reduce.js';
import { rmsnorm } from './rmsnorm/rmsnorm.js';
import { rope } from './rope/rope.js';
import { sampleKernels } from './sample/sample.js';
import { swiglu } from './swiglu/swiglu.js';
import { vocab } from './vocab/vocab.js';

export const kernels = {
  attention,
  decode,
  elementwise,
  embedding,
  kvCache,
  matmulF16,
  matmulTile16,
  matmulTile64,
  optimizer,
  reduce: reduce.workgroup,
  reduceSubgroups: reduce.subgroup,
  rmsnorm: rmsnorm.workgroup,
  rmsnormSubgroups: rmsnorm.subgroup,
  rope,
  sample: sampleKernels,
  swiglu,
  vocab: vocab.workgroup,
  vocabSubgroups: vocab.subgroup,
} as const;

export type { KernelDescriptor } from './kernel.js';
