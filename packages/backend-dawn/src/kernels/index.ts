/** The explicit kernel registry: every WGSL family the backend dispatches. */
import { attention } from './attention/attention.js';
import { decode } from './decode/decode.js';
import { elementwise } from './elementwise/elementwise.js';
import { embedding } from './embedding/embedding.js';
import { kvCache } from './kv-cache/kv-cache.js';
import { matmul, matmulTile64 } from './matmul/matmul.js';
import { optimizer } from './optimizer/optimizer.js';
import { reduce } from './reduce/reduce.js';
import { rmsnorm } from './rmsnorm/rmsnorm.js';
import { rope } from './rope/rope.js';
import { sample } from './sample/sample.js';
import { swiglu } from './swiglu/swiglu.js';
import { vocab } from './vocab/vocab.js';

export const kernels = {
  attention,
  decode,
  elementwise,
  embedding,
  kvCache,
  matmul,
  matmulTile64,
  optimizer,
  reduce,
  rmsnorm,
  rope,
  sample,
  swiglu,
  vocab,
} as const;

export type { KernelDescriptor } from './kernel.js';
