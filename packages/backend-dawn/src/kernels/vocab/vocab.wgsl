// Per-token vocabulary statistics (docs/architecture.md#objectives) and their gradient, never materialising softmax.
// With u = z / T and p = softmax(u) over a row of logits z [V]:
//   lse = log Σ exp(u)   ez = Σ p u   zy = u[target]   mz = Σ u / V   s2 = Σ p²
// Codes in the uniform: lse 0, ez 1, zy 2, mz 3, s2 4.
// stats: one workgroup per token row; each thread keeps an online (max, Σe, Σe·u, Σe², Σu)
//   over a strided slice of the row in fp32, then the workgroup merges them with `row_merge`
//   from merge-workgroup.wgsl or merge-subgroup.wgsl, put in front (with `Lane`).
// grad: one workgroup per token row too: dL/dz_j = Σ_s coeff_s · d stat_s / dz_j.
// Entries equal to −∞ (a masked vocabulary) have p = 0 and no gradient, and mz averages over
// the finite entries only (as the CPU reference). A target outside [0, V) gives zy = 0 and no
// zy gradient. WG must be a power of two.

override WG: u32 = 256;
const NEG: f32 = -3.0e38;

// One thread's (or a merged group's) share of a row: e = Σ exp(u − m) over its finite
// entries, eu = Σ exp(u − m)·u, e2 = Σ exp(u − m)², su = Σ u, count = finite entries.
struct Partial {
  m: f32,
  e: f32,
  eu: f32,
  e2: f32,
  su: f32,
  count: u32,
}

const EMPTY = Partial(NEG, 0.0, 0.0, 0.0, 0.0, 0u);

// Two shares of a row as one: rescale both to the larger max.
fn combine(a: Partial, b: Partial) -> Partial {
  let m = max(a.m, b.m);
  let ka = exp(a.m - m);
  let kb = exp(b.m - m);
  return Partial(
    m,
    a.e * ka + b.e * kb,
    a.eu * ka + b.eu * kb,
    a.e2 * ka * ka + b.e2 * kb * kb,
    a.su + b.su,
    a.count + b.count,
  );
}

fn code(i: u32) -> u32 {
  switch (i) {
    case 0u: { return p.code0; }
    case 1u: { return p.code1; }
    case 2u: { return p.code2; }
    case 3u: { return p.code3; }
    default: { return p.code4; }
  }
}

fn target_of(row: u32) -> i32 {
  let y = targets[row];
  if (y < 0 || u32(y) >= p.v) { return -1; }
  return y;
}

@compute @workgroup_size(WG)
fn stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.n) { return; }
  let base = row * p.v;
  var m = NEG;
  var e = 0.0;
  var eu = 0.0;
  var e2 = 0.0;
  var su = 0.0;
  var finite = 0u;
  for (var j = lane.lid; j < p.v; j += WG) {
    let u = logits[base + j] * p.inv_t;
    if (u < NEG) { continue; }  // −∞: masked out
    su += u;
    finite += 1u;
    if (u > m) {
      let a = exp(m - u);
      e = e * a + 1.0;
      eu = eu * a + u;
      e2 = e2 * a * a + 1.0;
      m = u;
    } else {
      let x = exp(u - m);
      e += x;
      eu += x * u;
      e2 += x * x;
    }
  }
  let t = row_merge(lane, Partial(m, e, eu, e2, su, finite));
  if (lane.lid < p.n_stats) {
    var value = 0.0;
    switch (code(lane.lid)) {
      case 0u: { value = t.m + log(t.e); }
      case 1u: { value = t.eu / t.e; }
      case 2u: {
        let y = target_of(row);
        if (y >= 0) { value = logits[base + u32(y)] * p.inv_t; }
      }
      case 3u: { value = t.su / f32(t.count); }
      default: { value = t.e2 / (t.e * t.e); }
    }
    stats_out[row * p.n_stats + lane.lid] = value;
  }
}

// The row's finite entries, through the same merge as stats (the other fields stay empty).
fn finite_count(lane: Lane, base: u32) -> u32 {
  var count = 0u;
  for (var j = lane.lid; j < p.v; j += WG) {
    if (logits[base + j] * p.inv_t >= NEG) { count += 1u; }
  }
  var share = EMPTY;
  share.count = count;
  return row_merge(lane, share).count;
}

@compute @workgroup_size(WG)
fn grad_logits(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, lane: Lane) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.n) { return; }
  let base = row * p.v;
  let finite = f32(finite_count(lane, base));
  let row_lse = lse_source[row * p.lse_stride + p.lse_col];
  let y = target_of(row);
  for (var j = lane.lid; j < p.v; j += WG) {
    let u = logits[base + j] * p.inv_t;
    var g = 0.0;
    if (u >= NEG) {
      let prob = exp(u - row_lse);
      for (var s = 0u; s < p.n_stats; s++) {
        let c = coeffs[row * p.n_stats + s];
        switch (code(s)) {
          case 0u: { g += c * prob; }
          case 1u: { g += c * prob * (1.0 + u - stat_values[row * p.n_stats + s]); }
          case 2u: { if (i32(j) == y) { g += c; } }
          case 3u: { g += c / finite; }
          default: { g += c * 2.0 * prob * (prob - stat_values[row * p.n_stats + s]); }
        }
      }
    }
    grad[base + j] = g * p.inv_t;
  }
}
