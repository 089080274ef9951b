// RMSNorm over rows of x [N, C]: out = x · rstd · w, rstd = 1 / sqrt(mean(x²) + eps).
// forward and backward_input: one workgroup per row; backward_weight: one thread per column
// and chunk of rows, writing [chunks, C] partials that reduce.wgsl sums.
// WG must be a power of two. `Lane` and `workgroup_sum` come from reduce/sum-workgroup.wgsl
// or reduce/sum-subgroup.wgsl, put in front.

override WG: u32 = 64;

fn row_of(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.y * nwg.x + wid.x;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let lid = lane.lid;
  let row = row_of(wid, nwg);
  if (row >= p.n) { return; }
  let base = row * p.c;
  var acc = 0.0;
  for (var i = lid; i < p.c; i += WG) { acc += x[base + i] * x[base + i]; }
  let r = inverseSqrt(workgroup_sum(lane, acc) / f32(p.c) + p.eps);
  for (var i = lid; i < p.c; i += WG) { out[base + i] = x[base + i] * r * w[i]; }
  if (lid == 0u) { rstd_out[row] = r; }
}

// dx_i = r·w_i·dy_i − x_i · r³/C · Σ_j w_j·dy_j·x_j
@compute @workgroup_size(WG)
fn backward_input(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let lid = lane.lid;
  let row = row_of(wid, nwg);
  if (row >= p.n) { return; }
  let base = row * p.c;
  var acc = 0.0;
  for (var i = lid; i < p.c; i += WG) { acc += w[i] * d_out[base + i] * x[base + i]; }
  let dot = workgroup_sum(lane, acc);
  let r = rstd[row];
  let k = r * r * r * dot / f32(p.c);
  for (var i = lid; i < p.c; i += WG) { out[base + i] = r * w[i] * d_out[base + i] - x[base + i] * k; }
}

// partial[g, c] = Σ_{n in chunk g} dy[n, c] · x[n, c] · rstd[n]
@compute @workgroup_size(WG)
fn backward_weight(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  let g = gid.y;
  if (col >= p.c || g >= p.chunks) { return; }
  let per = (p.n + p.chunks - 1u) / p.chunks;
  let end = min(p.n, (g + 1u) * per);
  var acc = 0.0;
  for (var row = g * per; row < end; row++) { acc += d_out[row * p.c + col] * x[row * p.c + col] * rstd[row]; }
  out[g * p.c + col] = acc;
}
