// The compute copy of a weight (`--dtype`): src [n] f32 master → out, rounded to nearest even.
// to_bf16 packs two per u32 (element 2w in the low half of word w); to_f16 (convert-f16.wgsl)
// writes array<f16>. One thread per output word / element.

override WG: u32 = 64;

fn bf16_bits(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  // a NaN stays a (quiet) NaN instead of rounding up into infinity
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) != 0u) { return (u >> 16u) | 0x40u; }
  return (u + 0x7fffu + ((u >> 16u) & 1u)) >> 16u;
}

@compute @workgroup_size(WG)
fn to_bf16(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = (wid.y * nwg.x + wid.x) * WG + lid;
  let i = 2u * w;
  if (i >= p.n) { return; }
  var hi = 0u;
  if (i + 1u < p.n) { hi = bf16_bits(src[i + 1u]); }
  out[w] = bf16_bits(src[i]) | (hi << 16u);
}
