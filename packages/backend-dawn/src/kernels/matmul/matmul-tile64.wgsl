// Register-tiled matmul (the `matmul: 'tile64'` option): out [M, N] = op(a) [M, K] · op(b) [K, N].
// A 16×16 workgroup computes a 64×64 output tile, each thread a 4×4 block held in registers;
// K advances in steps of 16 through 64×16 and 16×64 tiles in workgroup memory. Same
// transposes and zero-padded edges as matmul.wgsl. Meant for large M and N (training,
// prefill); with M = 1 (decode) the 16×16 kernel wastes less.

override WG: u32 = 16;  // threads per side; fixed by the 4×4-per-thread layout below
const TILE: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> tile_a: array<f32, TILE * BK>;  // [64 rows][16 k]
var<workgroup> tile_b: array<f32, BK * TILE>;  // [16 k][64 cols]

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
