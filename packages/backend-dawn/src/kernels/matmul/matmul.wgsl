// Tiled matmul: out [M, N] = op(a) [M, K] · op(b) [K, N], row-major.
// op(a) = aᵀ when TRANS_A (a stored [K, M]); op(b) = bᵀ when TRANS_B (b stored [N, K]).
// A WG×WG workgroup computes one WG×WG output tile, staging WG×WG tiles of both operands in
// workgroup memory; edges (M, N, K not multiples of WG) are zero-padded in the tiles.

// Operands and result may be blocks of larger row-major matrices (a split tensor's segments,
// runtime/segments.ts): element (r, c) of a stored matrix is at off + r·ld + c; `accumulate`
// adds the result to out (the later K blocks of a split contraction).
override WG: u32 = 16;  // tile side
override TRANS_A: bool = false;
override TRANS_B: bool = false;

// `read_b(i)` (element i of the weight b as f32) comes from a weight-storage fragment
// (weightStorageFamilies in kernels/weights.ts): b holds f32, bf16 packed 2 per u32, or f16.

var<workgroup> tile_a: array<f32, WG * WG>;
var<workgroup> tile_b: array<f32, WG * WG>;

fn load_a(row: u32, col: u32) -> f32 {
  if (row >= p.m || col >= p.k) { return 0.0; }
  if (TRANS_A) { return a[p.off_a + col * p.lda + row]; }
  return a[p.off_a + row * p.lda + col];
}

fn load_b(row: u32, col: u32) -> f32 {
  if (row >= p.k || col >= p.n) { return 0.0; }
  if (TRANS_B) { return read_b(p.off_b + col * p.ldb + row); }
  return read_b(p.off_b + row * p.ldb + col);
}

fn write_out(row: u32, col: u32, v: f32) {
  let o = p.off_c + row * p.ldc + col;
  if (p.accumulate != 0u) { out[o] = out[o] + v; } else { out[o] = v; }
}

@compute @workgroup_size(WG, WG)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * WG + lid.y;
  let col = wid.x * WG + lid.x;
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.k; k0 += WG) {
    tile_a[lid.y * WG + lid.x] = load_a(row, k0 + lid.x);
    tile_b[lid.y * WG + lid.x] = load_b(k0 + lid.y, col);
    workgroupBarrier();
    for (var kk = 0u; kk < WG; kk++) {
      acc += tile_a[lid.y * WG + kk] * tile_b[kk * WG + lid.x];
    }
    workgroupBarrier();
  }
  if (row < p.m && col < p.n) { write_out(row, col, acc); }
}
