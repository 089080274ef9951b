// Reductions: column sums of a [rows, cols] matrix, and Σx² in two stages (per-workgroup
// partial sums, then one workgroup adds the partials). WG must be a power of two.
// `Lane` and `workgroup_sum` come from sum-workgroup.wgsl or sum-subgroup.wgsl, put in front.

override WG: u32 = 256;

// Column sums over `groups` chunks of rows: thread (c, g) writes out[g, c] = Σ x[r, c] over
// chunk g's rows (groups = 1: the plain column sums; more: partials summed by a second pass).
@compute @workgroup_size(WG)
fn sum_rows(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let g = gid.y;
  if (c >= p.cols || g >= p.groups) { return; }
  let per = (p.rows + p.groups - 1u) / p.groups;
  let end = min(p.rows, (g + 1u) * per);
  var acc = 0.0;
  for (var r = g * per; r < end; r++) { acc += x[r * p.cols + c]; }
  out[g * p.cols + c] = acc;
}

// Stage 1: workgroup g sums x² over a grid-stride loop into out[g].
@compute @workgroup_size(WG)
fn sum_squares(@builtin(workgroup_id) wid: vec3u, lane: Lane) {
  var acc = 0.0;
  for (var i = wid.x * WG + lane.lid; i < p.n; i += p.groups * WG) {
    let v = x[i];
    acc += v * v;
  }
  let total = workgroup_sum(lane, acc);
  if (lane.lid == 0u) { out[wid.x] = total; }
}

// Stage 2: one workgroup: out[0] = Σ x[0..n).
@compute @workgroup_size(WG)
fn sum_partials(lane: Lane) {
  var acc = 0.0;
  for (var i = lane.lid; i < p.n; i += WG) { acc += x[i]; }
  let total = workgroup_sum(lane, acc);
  if (lane.lid == 0u) { out[0] = total; }
}
