// Sampling, one workgroup per row b of logits [B, V], in the CPU reference order
// (core sampling/sampler.ts): repetition penalty → temperature (0: argmax, ties by lower id)
// → softmax → top-p → top-k → inverse-CDF draw with uniforms[b].
//
// Instead of sorting the row, every "prefix of the descending order" is found by a binary
// search over the bit pattern of a probability threshold τ (non-negative f32 bits order like
// the values): mass(τ) = Σ_{p ≥ τ} p and count(τ) = #{p ≥ τ} are workgroup reductions. Ties
// at the boundary probability are taken by lower id, exactly as the reference's sort does.
// A prefix is (τ, n): every token with p > τ plus the n lowest-id tokens with p == τ.
// probs [B, V] is scratch. WG must be a power of two.

struct Params {
  b: u32,
  v: u32,
  temperature: f32,
  top_p: f32,
  top_k: u32,
  penalty: f32,
}

override WG: u32 = 256;
const INF_BITS: u32 = 0x7f800000u;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> presence: array<i32>;
@group(0) @binding(3) var<storage, read> uniforms: array<f32>;
@group(0) @binding(4) var<storage, read_write> ids: array<i32>;
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;

var<workgroup> sh_f: array<f32, WG>;
var<workgroup> sh_u: array<u32, WG>;
var<workgroup> sh_result_f: f32;
var<workgroup> sh_result_u: u32;
var<workgroup> found: atomic<u32>;

fn penalised(base: u32, j: u32) -> f32 {
  let x = logits[base + j];
  if (presence[base + j] == 1) {
    if (x > 0.0) { return x / p.penalty; }
    return x * p.penalty;
  }
  return x;
}

fn reduce_max(lid: u32, value: f32) -> f32 {
  sh_f[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { sh_f[lid] = max(sh_f[lid], sh_f[lid + stride]); }
    workgroupBarrier();
  }
  if (lid == 0u) { sh_result_f = sh_f[0]; }
  return workgroupUniformLoad(&sh_result_f);
}

fn reduce_sum(lid: u32, value: f32) -> f32 {
  sh_f[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { sh_f[lid] = sh_f[lid] + sh_f[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { sh_result_f = sh_f[0]; }
  return workgroupUniformLoad(&sh_result_f);
}

fn reduce_count(lid: u32, value: u32) -> u32 {
  sh_u[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { sh_u[lid] = sh_u[lid] + sh_u[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { sh_result_u = sh_u[0]; }
  return workgroupUniformLoad(&sh_result_u);
}

// Σ p and #p over tokens with bits(p) ≥ tau.
fn mass_at(lid: u32, base: u32, tau: u32) -> f32 {
  var acc = 0.0;
  for (var j = lid; j < p.v; j += WG) {
    let x = probs[base + j];
    if (bitcast<u32>(x) >= tau) { acc += x; }
  }
  return reduce_sum(lid, acc);
}

fn count_at(lid: u32, base: u32, tau: u32) -> u32 {
  var acc = 0u;
  for (var j = lid; j < p.v; j += WG) {
    if (bitcast<u32>(probs[base + j]) >= tau) { acc += 1u; }
  }
  return reduce_count(lid, acc);
}

// The largest tau in [lo, +∞) whose condition holds, given that it holds at lo.
// mode 0: mass(tau) ≥ goal; 1: mass(tau) > goal; 2: count(tau) ≥ goal.
fn search(lid: u32, base: u32, lo_start: u32, goal: f32, mode: u32) -> u32 {
  var lo = lo_start;
  var hi = INF_BITS;
  loop {
    if (hi - lo <= 1u) { break; }
    let mid = lo + (hi - lo) / 2u;
    var ok: bool;
    if (mode == 2u) {
      ok = f32(count_at(lid, base, mid)) >= goal;
    } else {
      let m = mass_at(lid, base, mid);
      ok = select(m >= goal, m > goal, mode == 1u);
    }
    if (ok) { lo = mid; } else { hi = mid; }
  }
  return lo;
}

// The id of the r-th (0-based) lowest-id token with bits(p) == tau, or NONE.
fn pick_tie(lid: u32, base: u32, tau: u32, r: u32) -> u32 {
  let chunk = (p.v + WG - 1u) / WG;
  let begin = min(p.v, lid * chunk);
  let end = min(p.v, begin + chunk);
  var count = 0u;
  for (var j = begin; j < end; j++) {
    if (bitcast<u32>(probs[base + j]) == tau) { count += 1u; }
  }
  sh_u[lid] = count;
  if (lid == 0u) { atomicStore(&found, NONE); }
  workgroupBarrier();
  var before = 0u;
  for (var i = 0u; i < lid; i++) { before += sh_u[i]; }
  if (r >= before && r < before + count) {
    var seen = before;
    for (var j = begin; j < end; j++) {
      if (bitcast<u32>(probs[base + j]) == tau) {
        if (seen == r) { atomicMin(&found, j); }
        seen += 1u;
      }
    }
  }
  return workgroupUniformLoad(&found);
}

fn greedy(lid: u32, base: u32) -> u32 {
  var best = penalised(base, lid % p.v);
  var best_j = lid % p.v;
  for (var j = lid; j < p.v; j += WG) {
    let x = penalised(base, j);
    if (x > best) { best = x; best_j = j; }
  }
  sh_f[lid] = best;
  sh_u[lid] = best_j;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      let x = sh_f[lid + stride];
      let j = sh_u[lid + stride];
      if (x > sh_f[lid] || (x == sh_f[lid] && j < sh_u[lid])) {
        sh_f[lid] = x;
        sh_u[lid] = j;
      }
    }
    workgroupBarrier();
  }
  return sh_u[0];
}

@compute @workgroup_size(WG)
fn sample(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  if (row >= p.b) { return; }
  let base = row * p.v;
  if (p.temperature == 0.0) {
    let best = greedy(lid, base);
    if (lid == 0u) { ids[row] = i32(best); }
    return;
  }

  // softmax(z' / T) into the scratch row
  var m = -3.0e38;
  for (var j = lid; j < p.v; j += WG) { m = max(m, penalised(base, j) / p.temperature); }
  m = reduce_max(lid, m);
  var total = 0.0;
  for (var j = lid; j < p.v; j += WG) { total += exp(penalised(base, j) / p.temperature - m); }
  total = reduce_sum(lid, total);
  for (var j = lid; j < p.v; j += WG) { probs[base + j] = exp(penalised(base, j) / p.temperature - m) / total; }
  storageBarrier();
  workgroupBarrier();

  // top-p prefix (tau, n); topP ≥ 1 keeps everything: tau = 0 and all zero-probability ties
  var tau = 0u;
  var n = p.v - count_at(lid, base, 1u);
  if (p.top_p < 1.0 && mass_at(lid, base, 0u) >= p.top_p) {
    tau = search(lid, base, 0u, p.top_p, 0u);
    let mass_gt = mass_at(lid, base, tau + 1u);
    let ties = count_at(lid, base, tau) - count_at(lid, base, tau + 1u);
    let f = bitcast<f32>(tau);
    n = ties;
    if (f > 0.0) { n = clamp(u32(ceil((p.top_p - mass_gt) / f)), 1u, ties); }
  }
  // top-k: the shorter prefix wins
  let kept = count_at(lid, base, tau + 1u) + n;
  if (p.top_k > 0u && p.top_k < kept) {
    tau = search(lid, base, 0u, f32(p.top_k), 2u);
    n = p.top_k - count_at(lid, base, tau + 1u);
  }

  // inverse-CDF draw over the kept prefix
  let f_tau = bitcast<f32>(tau);
  let mass_gt = mass_at(lid, base, tau + 1u);
  let goal = uniforms[row] * (mass_gt + f32(n) * f_tau);
  var pick = NONE;
  if (goal < mass_gt) {
    let tau_d = search(lid, base, tau + 1u, goal, 1u);
    let f_d = bitcast<f32>(tau_d);
    let gt_d = mass_at(lid, base, tau_d + 1u);
    let ties_d = count_at(lid, base, tau_d) - count_at(lid, base, tau_d + 1u);
    let r = min(u32(max(0.0, floor((goal - gt_d) / f_d))), ties_d - 1u);
    pick = pick_tie(lid, base, tau_d, r);
  } else {
    var r = n - 1u;
    if (f_tau > 0.0) { r = min(u32(max(0.0, floor((goal - mass_gt) / f_tau))), n - 1u); }
    pick = pick_tie(lid, base, tau, r);
  }
  if (pick == NONE) { pick = pick_tie(lid, base, tau, n - 1u); }
  if (lid == 0u) { ids[row] = i32(select(pick, 0u, pick == NONE)); }
}

// presence[b, ids[b]] = 1, one thread per row.
@compute @workgroup_size(WG)
fn mark_present(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.x;
  if (row >= p.b) { return; }
  let id = ids[row];
  if (id >= 0 && u32(id) < p.v) { presence_out[row * p.v + u32(id)] = 1; }
}

@group(0) @binding(6) var<storage, read_write> presence_out: array<i32>;
