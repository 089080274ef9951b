// Copies rows [src_start, src_start + rows) of src [B, src_len, X] to rows
// [dst_start, dst_start + rows) of dst [B, dst_len, X]: the KV-cache write (rows → cache)
// and prefix (cache → a [B, length, X] copy). One thread per copied element; elements are
// copied as raw 32-bit words, so the kernel serves f32 and i32 tensors alike.

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn copy_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.b * p.rows * p.x) { return; }
  let col = i % p.x;
  let r = (i / p.x) % p.rows;
  let b = i / (p.x * p.rows);
  dst[(b * p.dst_len + p.dst_start + r) * p.x + col] = src[(b * p.src_len + p.src_start + r) * p.x + col];
}
