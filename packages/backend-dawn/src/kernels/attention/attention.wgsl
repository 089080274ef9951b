// Causal GQA attention forward, flash-style: one workgroup per query row (b, h, t) streams
// the visible keys in chunks of WG with an online softmax, so no [T, S] matrix is stored.
// → out [B, T, H·D], lse [B, H, T] (layouts and visibility: attention-common.wgsl); a row
// that sees nothing outputs zeros and lse = −∞.

// A finite stand-in for −∞ so that exp(NEG − NEG) stays defined.
const NEG: f32 = -3.0e38;
const NEG_INF_BITS: u32 = 0xff800000u;

// lse is written as bits (array<u32>): WGSL has no −∞ literal.

var<workgroup> sh_q: array<f32, MAX_D>;
var<workgroup> sh_p: array<f32, WG>;
// reduce_max and reduce_sum: kernels/kernel.ts treeReduction, put in front by attention.ts.

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;  // (b, h, t)
  if (row >= p.b * p.h * p.t) { return; }
  let r = query_row(row);
  for (var d = lid; d < p.d; d += WG) { sh_q[d] = q[r.base + d]; }
  workgroupBarrier();

  let end = visible_end(r.t);
  var m = NEG;
  var l = 0.0;
  var acc: array<f32, ACC>;
  for (var start = 0u; start < end; start += WG) {
    let j = start + lid;
    var score = NEG;
    if (key_visible(r.b, j, end)) {
      let k_base = key_base(r.b, j, r.kvh);
      var dot = 0.0;
      for (var d = 0u; d < p.d; d++) { dot += sh_q[d] * k[k_base + d]; }
      score = dot * p.scale;
    }
    let m_new = max(m, reduce_max(lid, score));
    var prob = 0.0;
    if (score > NEG) { prob = exp(score - m_new); }
    sh_p[lid] = prob;
    let chunk_sum = reduce_sum(lid, prob);  // its barriers also publish sh_p
    let alpha = exp(m - m_new);
    l = l * alpha + chunk_sum;
    let count = min(WG, end - start);
    for (var a = 0u; a < ACC; a++) {
      let d = lid + a * WG;
      if (d < p.d) {
        var sum = acc[a] * alpha;
        for (var i = 0u; i < count; i++) {
          sum += sh_p[i] * v[key_base(r.b, start + i, r.kvh) + d];
        }
        acc[a] = sum;
      }
    }
    m = m_new;
    workgroupBarrier();
  }
  for (var a = 0u; a < ACC; a++) {
    let d = lid + a * WG;
    if (d < p.d) {
      var value = 0.0;
      if (l > 0.0) { value = acc[a] / l; }
      out[r.base + d] = value;
    }
  }
  if (lid == 0u) {
    let lse_index = row;  // (b·H + h)·T + t
    if (l > 0.0) { lse[lse_index] = bitcast<u32>(m + log(l)); } else { lse[lse_index] = NEG_INF_BITS; }
  }
}
