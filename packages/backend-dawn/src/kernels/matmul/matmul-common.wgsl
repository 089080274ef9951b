// What every matmul kernel shares (put in front of each by kernels/matmul/matmul.ts, after
// the weight-storage fragment that defines `read_b`): out [M, N] = op(a) [M, K] · op(b)
// [K, N], row-major; op(a) = aᵀ when TRANS_A (a stored [K, M]), op(b) = bᵀ when TRANS_B
// (b stored [N, K]). Operands and result may be blocks of larger row-major matrices (a split
// tensor's segments, runtime/segments.ts): element (r, c) of a stored matrix is at
// off + r·ld + c; `accumulate` adds the result to out (the later K blocks of a split
// contraction).

override TRANS_A: bool = false;
override TRANS_B: bool = false;

// Element (row, col) of op(a) and of op(b); 0 outside [M, K] and [K, N], which zero-pads the
// edge tiles of the tiled kernels.
fn load_a(row: u32, col: u32) -> f32 {
  if (row >= p.m || col >= p.k) { return 0.0; }
  return a_at(row, col);
}

fn load_b(row: u32, col: u32) -> f32 {
  if (row >= p.k || col >= p.n) { return 0.0; }
  if (TRANS_B) { return read_b(p.off_b + col * p.ldb + row); }
  return read_b(p.off_b + row * p.ldb + col);
}

// Element (row, k) of op(a) without the bounds check (the GEMV kernels' loops stay in range).
fn a_at(row: u32, k: u32) -> f32 {
  if (TRANS_A) { return a[p.off_a + k * p.lda + row]; }
  return a[p.off_a + row * p.lda + k];
}

fn write_out(row: u32, col: u32, v: f32) {
  let o = p.off_c + row * p.ldc + col;
  if (p.accumulate != 0u) { out[o] = out[o] + v; } else { out[o] = v; }
}
