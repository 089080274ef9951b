// Rotary position embedding on x [N, heads·D] with positions [N] i32.
// style 0 ('half', Hugging Face): pairs (i, i + D/2); style 1 ('interleaved', llama2.c): (2i, 2i+1).
// Pair i rotates by angle pos · theta^(−2i/D). cos/sin come from host-computed (f64) tables
// [4, 256, D/2, 2] (rope.ts): |pos| = d0 + d1·256 + d2·256² + d3·256³, level L holding the
// rotation by d·256^L; the four are composed by angle addition, so no large-argument f32
// sin/cos is ever taken. direction −1 applies the inverse rotation (the backward).

const DIGIT: u32 = 256u;
const LEVELS: u32 = 4u;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn rope(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let half = p.d / 2u;
  let idx = (wid.y * nwg.x + wid.x) * WG + lid;  // over N · heads · D/2 pairs
  if (idx >= p.n * p.heads * half) { return; }
  let i = idx % half;
  let head = (idx / half) % p.heads;
  let token = idx / (half * p.heads);
  let pos = positions[token];
  // |pos| as u32 (i32's minimum wraps to 2³¹, still four digits); sin is odd, cos even
  let a = select(u32(pos), u32(0) - u32(pos), pos < 0);
  var c = 1.0;
  var s = 0.0;
  var rest = a;
  for (var level = 0u; level < LEVELS; level++) {
    let at = ((level * DIGIT + rest % DIGIT) * half + i) * 2u;
    let cl = table[at];
    let sl = table[at + 1u];
    let c2 = c * cl - s * sl;
    s = s * cl + c * sl;
    c = c2;
    rest = rest / DIGIT;
  }
  s = s * select(1.0, -1.0, pos < 0) * p.direction;
  let base = token * p.heads * p.d + head * p.d;
  var i0: u32;
  var i1: u32;
  if (p.style == 0u) {
    i0 = base + i;
    i1 = base + i + half;
  } else {
    i0 = base + 2u * i;
    i1 = base + 2u * i + 1u;
  }
  let x0 = x[i0];
  let x1 = x[i1];
  out[i0] = x0 * c - x1 * s;
  out[i1] = x1 * c + x0 * s;
}
