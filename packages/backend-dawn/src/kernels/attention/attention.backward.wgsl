// Causal GQA attention backward, recomputing probabilities from the saved lse
// (P = exp(scale·q·k − lse)), so no [T, S] matrix is stored:
//   delta:    Δ[b, h, t] = Σ_d dOut · out
//   dq:       one workgroup per query row: dq = scale · Σ_s P (dOut·v_s − Δ) k_s
//   dkv:      one workgroup per key row (b, kv head, s), over every query row of its head
//             group: dv = Σ P dOut, dk = scale · Σ P (dOut·v − Δ) q
// Layouts and visibility: attention-common.wgsl (the backward takes dense k/v: kv_rows = S).

var<workgroup> sh_a: array<f32, MAX_D>;
var<workgroup> sh_b: array<f32, MAX_D>;
var<workgroup> sh_p: array<f32, WG>;
var<workgroup> sh_ds: array<f32, WG>;

// One thread per (b, h, t).
@compute @workgroup_size(WG)
fn delta_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.y * nwg.x + wid.x) * WG + lid;  // (b, h, t)
  if (idx >= p.b * p.h * p.t) { return; }
  let base = query_row(idx).base;
  var acc = 0.0;
  for (var d = 0u; d < p.d; d++) { acc += d_out[base + d] * out[base + d]; }
  delta[idx] = acc;
}

@compute @workgroup_size(WG)
fn dq_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;  // (b, h, t)
  if (row >= p.b * p.h * p.t) { return; }
  let r = query_row(row);
  for (var d = lid; d < p.d; d += WG) {
    sh_a[d] = q[r.base + d];
    sh_b[d] = d_out[r.base + d];
  }
  workgroupBarrier();
  let row_lse = lse[row];
  let row_delta = delta_in[row];
  // A row that saw no key (lse = −∞) has no gradient.
  var end = visible_end(r.t);
  if (!(row_lse > -3.0e38)) { end = 0u; }
  var acc: array<f32, ACC>;
  for (var start = 0u; start < end; start += WG) {
    let j = start + lid;
    var ds = 0.0;
    if (key_visible(r.b, j, end)) {
      let kb = key_base(r.b, j, r.kvh);
      var qk = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.d; d++) {
        qk += sh_a[d] * k[kb + d];
        dp += sh_b[d] * v[kb + d];
      }
      ds = exp(qk * p.scale - row_lse) * (dp - row_delta);
    }
    sh_ds[lid] = ds;
    workgroupBarrier();
    let count = min(WG, end - start);
    for (var a = 0u; a < ACC; a++) {
      let d = lid + a * WG;
      if (d < p.d) {
        var sum = acc[a];
        for (var i = 0u; i < count; i++) { sum += sh_ds[i] * k[key_base(r.b, start + i, r.kvh) + d]; }
        acc[a] = sum;
      }
    }
    workgroupBarrier();
  }
  for (var a = 0u; a < ACC; a++) {
    let d = lid + a * WG;
    if (d < p.d) { dq[r.base + d] = acc[a] * p.scale; }
  }
}

@compute @workgroup_size(WG)
fn dkv_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;  // (b, kvh, s)
  if (row >= p.b * p.k * p.s) { return; }
  let s = row % p.s;
  let kvh = (row / p.s) % p.k;
  let b = row / (p.s * p.k);
  let kb = key_base(b, s, kvh);
  for (var d = lid; d < p.d; d += WG) {
    sh_a[d] = k[kb + d];
    sh_b[d] = v[kb + d];
  }
  workgroupBarrier();
  let group = p.h / p.k;
  // Queries t with q_offset + t ≥ s see this key; none if the key is masked.
  var first_t = 0u;
  if (s > p.q_offset) { first_t = s - p.q_offset; }
  var t_count = 0u;
  if (mask[b * p.s + s] != 0 && first_t < p.t) { t_count = p.t - first_t; }
  let total = group * t_count;  // (head in group, t) pairs
  var acc_k: array<f32, ACC>;
  var acc_v: array<f32, ACC>;
  for (var start = 0u; start < total; start += WG) {
    let i = start + lid;
    var prob = 0.0;
    var ds = 0.0;
    if (i < total) {
      let h = kvh * group + i / t_count;
      let t = first_t + i % t_count;
      let qi = (b * p.h + h) * p.t + t;
      let row_lse = lse[qi];
      if (row_lse > -3.0e38) {
        let base = row_base(b, t, h);
        var qk = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < p.d; d++) {
          qk += q[base + d] * sh_a[d];
          dp += d_out[base + d] * sh_b[d];
        }
        prob = exp(qk * p.scale - row_lse);
        ds = prob * (dp - delta_in[qi]);
      }
    }
    sh_p[lid] = prob;
    sh_ds[lid] = ds;
    workgroupBarrier();
    let count = min(WG, total - start);
    for (var a = 0u; a < ACC; a++) {
      let d = lid + a * WG;
      if (d < p.d) {
        var sum_k = acc_k[a];
        var sum_v = acc_v[a];
        for (var c = 0u; c < count; c++) {
          let pair = start + c;
          let base = row_base(b, first_t + pair % t_count, kvh * group + pair / t_count);
          sum_v += sh_p[c] * d_out[base + d];
          sum_k += sh_ds[c] * q[base + d];
        }
        acc_k[a] = sum_k;
        acc_v[a] = sum_v;
      }
    }
    workgroupBarrier();
  }
  for (var a = 0u; a < ACC; a++) {
    let d = lid + a * WG;
    if (d < p.d) {
      dk[kb + d] = acc_k[a] * p.scale;
      dv[kb + d] = acc_v[a];
    }
  }
}
