// SwiGLU: out = silu(gate) · up, silu(g) = g·σ(g); elementwise over [N, F].
// backward: dGate = dOut · up · σ(g)(1 + g(1 − σ(g))), dUp = dOut · silu(g).

override WG: u32 = 64;

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  let g = gate[i];
  out[i] = g * sigmoid(g) * up[i];
}

// `out` receives dGate.
@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  let g = gate[i];
  let sg = sigmoid(g);
  let dy = d_out[i];
  out[i] = dy * up[i] * sg * (1.0 + g * (1.0 - sg));
  d_up[i] = dy * g * sg;
}
