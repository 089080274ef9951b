// Register-tiled matmul (the `matmul: 'tile64'` option): out [M, N] = op(a) [M, K] · op(b) [K, N].
// A 16×16 workgroup computes a 64×64 output tile, each thread a 4×4 block held in registers;
// K advances in steps of 16 through 64×16 and 16×64 tiles in workgroup memory. Same
// transposes and zero-padded edges as matmul.wgsl. Meant for large M and N (training,
// prefill); with M = 1 (decode) the 16×16 kernel wastes less.

// Operands and result may be blocks of larger row-major matrices (a split tensor's segments,
// runtime/segments.ts): element (r, c) of a stored matrix is at off + r·ld + c; `accumulate`
// adds the result to out (the later K blocks of a split contraction).
override WG: u32 = 16;  // threads per side; fixed by the 4×4-per-thread layout below
override TRANS_A: bool = false;
override TRANS_B: bool = false;
const TILE: u32 = 64u;
const BK: u32 = 16u;

// `read_b(i)` (element i of the weight b as f32) comes from a weight-storage fragment
// (weightStorageFamilies in kernels/weights.ts): b holds f32, bf16 packed 2 per u32, or f16.

var<workgroup> tile_a: array<f32, TILE * BK>;  // [64 rows][16 k]
var<workgroup> tile_b: array<f32, BK * TILE>;  // [16 k][64 cols]

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
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let tid = lid.y * WG + lid.x;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * WG * WG;
      tile_a[e] = load_a(row0 + e / BK, k0 + e % BK);
      tile_b[e] = load_b(k0 + e / TILE, col0 + e % TILE);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = tile_a[(lid.y * 4u + i) * BK + kk];
        bv[i] = tile_b[kk * TILE + lid.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] += av[i] * bv[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x * 4u + j;
      if (row < p.m && col < p.n) { write_out(row, col, acc[i * 4u + j]); }
    }
  }
}
