// A weight's compute copy (binding `b`, read through `read_b` of the weight fragment of
// kernels/weights.ts put in front of this source) widened back to f32: out[i] = read_b(i).
// For a weight whose f32 master is on the host (optimizer on the host): the device's values.
// One thread per element.

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn widen(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  out[i] = read_b(i);
}
