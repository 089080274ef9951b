// f32 master → f16 compute copy (see convert.wgsl); WGSL's f32→f16 conversion rounds to
// nearest even on the GPUs we target (the spec allows either neighbour: the tests allow one
// f16 ulp). One thread per element.
enable f16;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn to_f16(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.n) { return; }
  out[i] = f16(src[i]);
}
