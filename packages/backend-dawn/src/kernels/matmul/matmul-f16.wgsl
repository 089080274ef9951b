enable f16;

// The opt-in f16 matmul (`createDawnBackend({ f16: true })`, devices with shader-f16):
// out [M, N] = op(a) [M, K] · op(b) [K, N] as matmul.wgsl (same 16×16 tiles, transposes,
// zero-padded edges), but each operand is rounded to f16 once, when staged into workgroup
// memory (half the bytes of the fp32 tiles), and each product is taken in f16; the sum over K
// stays in f32, so rounding does not grow with K beyond fp32's.
// Error per output ≲ 3·2⁻¹¹·Σ_k |a_ik·b_kj| (two roundings of the inputs, one of the product).
// f16's range is ±65504 with normals down to 6.1e-5: larger values do not convert (WGSL
// leaves the result indeterminate) and much smaller ones (e.g. small gradients) lose precision
// or vanish — a forward/generation feature, measured against fp32 (docs/architecture.md#numerics).

// Operands and result may be blocks of larger row-major matrices (a split tensor's segments,
// runtime/segments.ts): element (r, c) of a stored matrix is at off + r·ld + c; `accumulate`
// adds the result to out (the later K blocks of a split contraction).
override WG: u32 = 16;  // tile side
override TRANS_A: bool = false;
override TRANS_B: bool = false;

var<workgroup> tile_a: array<f16, WG * WG>;
var<workgroup> tile_b: array<f16, WG * WG>;

fn load_a(row: u32, col: u32) -> f16 {
  if (row >= p.m || col >= p.k) { return 0.0h; }
  if (TRANS_A) { return f16(a[p.off_a + col * p.lda + row]); }
  return f16(a[p.off_a + row * p.lda + col]);
}

fn load_b(row: u32, col: u32) -> f16 {
  if (row >= p.k || col >= p.n) { return 0.0h; }
  if (TRANS_B) { return f16(b[p.off_b + col * p.ldb + row]); }
  return f16(b[p.off_b + row * p.ldb + col]);
}

fn write_out(row: u32, col: u32, v: f32) {
  let o = p.off_c + row * p.ldc + col;
  if (p.accumulate != 0u) { out[o] = out[o] + v; } else { out[o] = v; }
}

@compute @workgroup_size(WG, WG)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.y * WG + lid.y;
  let col = wid.x * WG + lid.x;
  var acc = 0.0;
  for (var k0 = 0u; k0 < p.k; k0 += WG) {
    tile_a[lid.y * WG + lid.x] = load_a(row, k0 + lid.x);
    tile_b[lid.y * WG + lid.x] = load_b(k0 + lid.y, col);
    workgroupBarrier();
    for (var kk = 0u; kk < WG; kk++) {
      acc += f32(tile_a[lid.y * WG + kk] * tile_b[kk * WG + lid.x]);
    }
    workgroupBarrier();
  }
  if (row < p.m && col < p.n) { write_out(row, col, acc); }
}
