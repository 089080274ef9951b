// In-place optimizer updates over flat f32 arrays (one thread per element).
// adamw (torch.optim.AdamW): p ← p·(1 − lr·wd); m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
//   p ← p − step_size · m / (√v / √bc2 + eps), step_size = lr / bc1 (bias corrections
//   bc = 1 − β^step, computed on the host in f64).  g = grad_scale · grad.
// sgd: p ← p − lr · (grad_scale · grad + wd · p).

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn adamw(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  let g = grad[i] * p.grad_scale;
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let decayed = param[i] * (1.0 - p.lr * p.weight_decay);
  param[i] = decayed - p.step_size * mi / (sqrt(vi) / p.sqrt_bc2 + p.eps);
}

@compute @workgroup_size(WG)
fn sgd(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  param[i] = param[i] - p.lr * (p.grad_scale * grad[i] + p.weight_decay * param[i]);
}
