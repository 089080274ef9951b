/**
 * The explicit kernel registry: every WGSL entry point the backend dispatches, by family
 * (the *Subgroups families need the `subgroups` feature, matmulF16 and the *F16 weight
 * variants `shader-f16`; *Bf16 read bf16 compute copies packed in u32, kernels/weights.ts).
 */
import { attention } from './attention/attention.js';
import { convert } from './convert/convert.js';
import { decode } from './decode/decode.js';
import { elementwise } from './elementwise/elementwise.js';
import { embeddingByDtype } from './embedding/embedding.js';
import { kvCache } from './kv-cache/kv-cache.js';
import { matmulF16, matmulTile16ByDtype, matmulTile64ByDtype } from './matmul/matmul.js';
import { optimizer } from './optimizer/optimizer.js';
import { reduce } from './reduce/reduce.js';
import { rmsnorm } from './rmsnorm/rmsnorm.js';
import { rope } from './rope/rope.js';
import { sampleKernels } from './sample/sample.js';
import { swiglu } from './swiglu/swiglu.js';
import { vocab } from './vocab/vocab.js';

export const kernels = {
  attention,
  convert,
  decode,
  elementwise,
  embedding: embeddingByDtype.f32,
  embeddingBf16: embeddingByDtype.bf16,
  embeddingF16: embeddingByDtype.f16,
  kvCache,
  matmulF16,
  matmulTile16: matmulTile16ByDtype.f32,
  matmulTile16Bf16: matmulTile16ByDtype.bf16,
  matmulTile16F16: matmulTile16ByDtype.f16,
  matmulTile64: matmulTile64ByDtype.f32,
  matmulTile64Bf16: matmulTile64ByDtype.bf16,
  matmulTile64F16: matmulTile64ByDtype.f16,
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
