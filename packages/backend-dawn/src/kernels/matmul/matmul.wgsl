// Tiled matmul (tile16, and the opt-in f16 kernel): a WG×WG workgroup computes one WG×WG
// output tile, one output per thread, staging WG×WG tiles of both operands in workgroup
// memory; edges (M, N, K not multiples of WG) are zero-padded in the tiles. The tiles hold T,
// aliased in front by kernels/matmul/matmul.ts: f32, or f16 for the f16 kernel — then each
// operand is rounded to f16 once, when staged, each product is taken in f16 and the sum over
// K stays f32 (its error bound: matmulF16 in matmul.ts).

override WG: u32 = 16;  // tile side

var<workgroup> tile_a: array<T, WG * WG>;
var<workgroup> tile_b: array<T, WG * WG>;

@compute @workgroup_size(WG, WG)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * WG + lid.y;
  let col = wid.x * WG + lid.x;
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.k; k0 += WG) {
    tile_a[lid.y * WG + lid.x] = T(load_a(row, k0 + lid.x));
    tile_b[lid.y * WG + lid.x] = T(load_b(k0 + lid.y, col));
    workgroupBarrier();
    for (var kk = 0u; kk < WG; kk++) {
      acc += f32(tile_a[lid.y * WG + kk] * tile_b[kk * WG + lid.x]);
    }
    workgroupBarrier();
  }
  if (row < p.m && col < p.n) { write_out(row, col, acc); }
}
