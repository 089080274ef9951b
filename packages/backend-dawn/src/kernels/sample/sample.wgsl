// Sampling, one workgroup per row b of logits [B, V], in the CPU reference order
// (core sampling/sampler.ts): repetition penalty → temperature (0: argmax, ties by lower id)
// → softmax → top-p → top-k → min-p → inverse-CDF draw with uniforms[b].
//
// Min-p keeps p_j ≥ min_p · max p, i.e. exp(a_j − max a) ≥ min_p: the scratch row holds 0 for
// the other tokens. Their mass would come last in the descending order, so zeroing it leaves
// top-p's cumulative sums over the kept prefix as they were, and a top-p goal the zeroed row
// no longer reaches keeps every token min-p kept: the kept set is the shortest prefix, as in
// the reference.
//
// Instead of sorting the row, every "prefix of the descending order" is found by a binary
// search over the bit pattern of a probability threshold τ (non-negative f32 bits order like
// the values): mass(τ) = Σ_{p ≥ τ} p and count(τ) = #{p ≥ τ} are workgroup reductions. Ties
// at the boundary probability are taken by lower id, exactly as the reference's sort does.
// A prefix is (τ, n): every token with p > τ plus the n lowest-id tokens with p == τ.
// probs [B, V] is scratch.

override WG: u32 = 256;
const INF_BITS: u32 = 0x7f800000u;
const NONE: u32 = 0xffffffffu;
const STAGE_DONE: u32 = 0u;
const STAGE_SEARCH: u32 = 1u;
const STAGE_TOTAL: u32 = 2u;
const STAGE_KEEP_ALL: u32 = 3u;
const STAGE_P_GT: u32 = 4u;
const STAGE_P_EQ: u32 = 5u;
const STAGE_TOP_K: u32 = 6u;
const STAGE_K_GT: u32 = 7u;
const STAGE_DRAW: u32 = 8u;
const STAGE_D_GT: u32 = 9u;
const STAGE_D_EQ: u32 = 10u;

var<workgroup> sh_f: array<f32, WG>;
var<workgroup> sh_u: array<u32, WG>;
var<workgroup> sh_result_f: f32;
var<workgroup> sh_result: vec2<f32>;
var<workgroup> found: atomic<u32>;

fn penalised(base: u32, j: u32) -> f32 {
  let x = logits[base + j];
  if (presence[base + j] == 1) {
    if (x > 0.0) { return x / p.penalty; }
    return x * p.penalty;
  }
  return x;
}

// Reductions end with one thread folding the WG partials serially: two barriers per
// reduction keep the shader quick to compile on lavapipe (shader compilers inline every call).
fn reduce_max(lid: u32, value: f32) -> f32 {
  sh_f[lid] = value;
  workgroupBarrier();
  if (lid == 0u) {
    var m = sh_f[0];
    for (var i = 1u; i < WG; i++) { m = max(m, sh_f[i]); }
    sh_result_f = m;
  }
  return workgroupUniformLoad(&sh_result_f);
}

fn reduce_sum(lid: u32, value: f32) -> f32 {
  sh_f[lid] = value;
  workgroupBarrier();
  if (lid == 0u) {
    var s = 0.0;
    for (var i = 0u; i < WG; i++) { s += sh_f[i]; }
    sh_result_f = s;
  }
  return workgroupUniformLoad(&sh_result_f);
}

// (Σ p, #p) over the tokens with bits(p) ≥ tau: the one reduction the selection uses.
fn measure(lid: u32, base: u32, tau: u32) -> vec2<f32> {
  var mass = 0.0;
  var count = 0u;
  for (var j = lid; j < p.v; j += WG) {
    let x = probs[base + j];
    if (bitcast<u32>(x) >= tau) {
      mass += x;
      count += 1u;
    }
  }
  sh_f[lid] = mass;
  sh_u[lid] = count;
  workgroupBarrier();
  if (lid == 0u) {
    var m = 0.0;
    var c = 0u;
    for (var i = 0u; i < WG; i++) {
      m += sh_f[i];
      c += sh_u[i];
    }
    sh_result = vec2<f32>(m, f32(c));
  }
  return workgroupUniformLoad(&sh_result);
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
  let id = workgroupUniformLoad(&found);
  workgroupBarrier();
  return id;
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
  var out = 0u;
  if (lid == 0u) {
    var x = sh_f[0];
    out = sh_u[0];
    for (var i = 1u; i < WG; i++) {
      if (sh_f[i] > x || (sh_f[i] == x && sh_u[i] < out)) {
        x = sh_f[i];
        out = sh_u[i];
      }
    }
  }
  return out;  // meaningful in thread 0
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
  for (var j = lid; j < p.v; j += WG) {
    let e = exp(penalised(base, j) / p.temperature - m);
    probs[base + j] = select(0.0, e / total, e >= p.min_p);
  }
  storageBarrier();
  workgroupBarrier();

  // Selection as a small state machine so that every reduction goes through the single
  // `measure` call (shader compilers inline every call site; lavapipe compiles barriers slowly).
  // A search stage bisects [lo, hi) for the largest threshold whose condition holds at lo.
  var stage = STAGE_TOTAL;
  var after_search = 0u;
  var mode = 0u;  // search condition: 0 mass ≥ goal, 1 mass > goal, 2 count ≥ goal
  var goal = 0.0;
  var lo = 0u;
  var hi = INF_BITS;
  var q = 0u;  // the threshold measured next by a non-search stage
  var tau = 0u;  // the kept prefix is (tau, n)
  var n = 0u;
  var gt = vec2<f32>(0.0, 0.0);
  var pick_tau = 0u;
  var pick_r = 0u;
  var prefix_tau = 0u;
  var prefix_n = 1u;
  loop {
    if (stage == STAGE_DONE) { break; }
    var threshold = q;
    if (stage == STAGE_SEARCH) {
      if (hi - lo <= 1u) {
        tau = lo;
        q = lo + 1u;
        stage = after_search;
        continue;
      }
      threshold = lo + (hi - lo) / 2u;
    }
    let r = measure(lid, base, threshold);
    switch (stage) {
      case STAGE_SEARCH: {
        var ok = r.y >= goal;
        if (mode == 0u) { ok = r.x >= goal; }
        if (mode == 1u) { ok = r.x > goal; }
        if (ok) { lo = threshold; } else { hi = threshold; }
      }
      case STAGE_TOTAL: {
        if (p.top_p < 1.0 && r.x >= p.top_p) {
          mode = 0u; goal = p.top_p; lo = 0u; hi = INF_BITS;
          stage = STAGE_SEARCH; after_search = STAGE_P_GT;
        } else {
          tau = 0u; q = 1u; stage = STAGE_KEEP_ALL;
        }
      }
      case STAGE_KEEP_ALL: {  // r at threshold 1: the positive-probability tokens
        n = p.v - u32(r.y);
        gt = r;
        stage = STAGE_TOP_K;
      }
      case STAGE_P_GT: {
        gt = r;
        q = tau;
        stage = STAGE_P_EQ;
      }
      case STAGE_P_EQ: {
        let ties = u32(r.y - gt.y);
        let f = bitcast<f32>(tau);
        n = ties;
        if (f > 0.0) { n = clamp(u32(ceil((p.top_p - gt.x) / f)), 1u, ties); }
        stage = STAGE_TOP_K;
      }
      case STAGE_K_GT: {
        n = p.top_k - u32(r.y);
        gt = r;
        stage = STAGE_DRAW;
      }
      case STAGE_D_GT: {
        gt = r;
        q = tau;
        stage = STAGE_D_EQ;
      }
      case STAGE_D_EQ: {
        let ties = u32(r.y - gt.y);
        pick_tau = tau;
        pick_r = min(u32(max(0.0, floor((goal - gt.x) / bitcast<f32>(tau)))), ties - 1u);
        stage = STAGE_DONE;
      }
      default: {}
    }
    // Stages without a measurement of their own.
    if (stage == STAGE_TOP_K) {
      if (p.top_k > 0u && p.top_k < u32(gt.y) + n) {
        mode = 2u; goal = f32(p.top_k); lo = 0u; hi = INF_BITS;
        stage = STAGE_SEARCH; after_search = STAGE_K_GT;
      } else {
        stage = STAGE_DRAW;
      }
    }
    if (stage == STAGE_DRAW) {
      // gt = (mass, count) above the prefix threshold tau; draw at u · kept mass
      let f = bitcast<f32>(tau);
      prefix_tau = tau;
      prefix_n = n;
      goal = uniforms[row] * (gt.x + f32(n) * f);
      if (goal < gt.x) {
        mode = 1u; lo = tau + 1u; hi = INF_BITS;
        stage = STAGE_SEARCH; after_search = STAGE_D_GT;
      } else {
        pick_tau = tau;
        pick_r = n - 1u;
        if (f > 0.0) { pick_r = min(u32(max(0.0, floor((goal - gt.x) / f))), n - 1u); }
        stage = STAGE_DONE;
      }
    }
  }
  // Rounding can leave the chosen rank past the last tie: fall back to the last kept token.
  var pick = NONE;
  for (var attempt = 0u; attempt < 2u; attempt++) {
    pick = pick_tie(lid, base, pick_tau, pick_r);
    if (pick != NONE) { break; }
    pick_tau = prefix_tau;
    pick_r = prefix_n - 1u;
  }
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

