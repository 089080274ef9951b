import type { KernelInterface } from '../kernel.js';

/**
 * Every matmul kernel's interface: operands and result may be blocks of larger row-major
 * matrices (a split tensor's segments, runtime/segments.ts): element (r, c) of a stored matrix
 * is at off + r·ld + c; `accumulate` adds the result to out (the later K blocks of a split
 * contraction). b is the weight binding (its element type per weight dtype, kernels/weights.ts).
 */
export const MATMUL_INTERFACE: KernelInterface = {
  params: [
    ['m', 'u32'],
    ['n', 'u32'],
    ['k', 'u32'],
    ['lda', 'u32'],
    ['ldb', 'u32'],
    ['ldc', 'u32'],
    ['off_a', 'u32'],
    ['off_b', 'u32'],
    ['off_c', 'u32'],
    ['accumulate', 'u32'],
  ],
  bindings: { a: [1, 'read', 'f32'], b: [2, 'read', 'f32'], out: [3, 'read_write', 'f32'] },
};
