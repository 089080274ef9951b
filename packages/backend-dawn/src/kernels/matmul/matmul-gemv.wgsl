// Matrix-vector kernel for decode and other small M (M ≤ 8 rows): out [M, N] = op(a) · op(b),
// the same parameters, transposes, blocks and `accumulate` as matmul.wgsl. The weight b is
// read once, each element feeding all M rows from registers (acc[8]), so the kernel runs at
// the speed of streaming b: the bound of decode.
// - gemv_rows (TRANS_B: b stored [N, K], the HF layout of every projection and the head):
//   one workgroup per output column n; its threads stride along the contiguous row n of b
//   (adjacent threads, adjacent words), then a shared-memory tree sums the WG partials.
// - gemv_cols (b stored [K, N]): one thread per column, walking k; adjacent threads read
//   adjacent columns of each row of b.
// Binding 2 (`b`, `read_b`) comes from the weight-storage fragment (kernels/weights.ts).

override WG: u32 = 64;
const MAX_M: u32 = 8u;

var<workgroup> partial: array<f32, 512>;  // [MAX_M][WG ≤ 64]

@compute @workgroup_size(WG)
fn gemv_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let col = wid.y * nwg.x + wid.x;
  if (col >= p.n) { return; }  // uniform per workgroup: the barriers below stay uniform
  var acc: array<f32, MAX_M>;
  let row_b = p.off_b + col * p.ldb;
  for (var k = lid; k < p.k; k += WG) {
    let w = read_b(row_b + k);
    for (var r = 0u; r < MAX_M; r++) {
      if (r < p.m) { acc[r] += a_at(r, k) * w; }
    }
  }
  // only the M live rows go through the tree (decode at batch 1: one)
  for (var r = 0u; r < p.m; r++) { partial[r * WG + lid] = acc[r]; }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      for (var r = 0u; r < p.m; r++) {
        partial[r * WG + lid] += partial[r * WG + lid + s];
      }
    }
    workgroupBarrier();
  }
  if (lid < p.m) { write_out(lid, col, partial[lid * WG]); }
}

@compute @workgroup_size(WG)
fn gemv_cols(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let col = (wid.y * nwg.x + wid.x) * WG + lid;
  if (col >= p.n) { return; }
  var acc: array<f32, MAX_M>;
  for (var k = 0u; k < p.k; k++) {
    let w = read_b(p.off_b + k * p.ldb + col);
    for (var r = 0u; r < MAX_M; r++) {
      if (r < p.m) { acc[r] += a_at(r, k) * w; }
    }
  }
  for (var r = 0u; r < p.m; r++) { write_out(r, col, acc[r]); }
}
