// High-throughput register-tiled matmul (the `matmul: 'tile128'` option, large M and N:
// training, prefill): out [M, N] = op(a) [M, K] · op(b) [K, N], the same parameters,
// transposes, blocks, `accumulate` and zero-padded edges as matmul.wgsl.
// A 16×16 workgroup computes a 128×128 output tile, each thread an 8×8 block in registers
// (rows ty·4 + {0..3} and 64 + ty·4 + {0..3}, columns likewise from tx, so the vec4 reads of
// the tiles below are broadcasts for a and consecutive for b: no bank conflicts). K advances
// BK = 8 at a time through two buffers of both tiles, stored k-major ([BK][128] as vec4s,
// a transposed on the way in): the next step's operands are fetched into registers while
// the current step computes, then stored into the other buffer — one barrier per step.
// Each thread fetches 4 contiguous elements of each operand per step (along K for a stored
// [M, K] and b stored [N, K]; along the rows/columns otherwise); out-of-range ones are 0.

override WG: u32 = 16;  // threads per side; fixed by the 8×8-per-thread layout below
const TILE: u32 = 128u;
const BK: u32 = 8u;
const Q: u32 = 32u;  // vec4s per tile row (TILE / 4)

// [2 buffers][BK][Q] vec4s each: 2 × 4 KiB per operand, 16 KiB in all (WebGPU's minimum limit)
var<workgroup> ta: array<vec4f, 2u * BK * Q>;
var<workgroup> tb: array<vec4f, 2u * BK * Q>;

// This thread's 4 elements of the a tile at k0: along k of one row (a stored [M, K]), or
// along the rows at one k (TRANS_A, a stored [K, M]) — contiguous in memory either way.
fn fetch_a(tid: u32, row0: u32, k0: u32) -> vec4f {
  if (TRANS_A) {
    let r = row0 + (tid % Q) * 4u;
    let k = k0 + tid / Q;
    return vec4f(load_a(r, k), load_a(r + 1u, k), load_a(r + 2u, k), load_a(r + 3u, k));
  }
  let r = row0 + tid / 2u;
  let k = k0 + (tid % 2u) * 4u;
  return vec4f(load_a(r, k), load_a(r, k + 1u), load_a(r, k + 2u), load_a(r, k + 3u));
}

fn store_a(buf: u32, tid: u32, v: vec4f) {
  let base = buf * BK * Q;
  if (TRANS_A) {
    ta[base + (tid / Q) * Q + tid % Q] = v;
    return;
  }
  let r = tid / 2u;
  let k = (tid % 2u) * 4u;
  for (var c = 0u; c < 4u; c++) { ta[base + (k + c) * Q + r / 4u][r % 4u] = v[c]; }
}

// The b tile's 4 elements: along the columns at one k (b stored [K, N]) or along k of one
// column (TRANS_B, b stored [N, K], the model's weight layout).
fn fetch_b(tid: u32, col0: u32, k0: u32) -> vec4f {
  if (TRANS_B) {
    let c = col0 + tid / 2u;
    let k = k0 + (tid % 2u) * 4u;
    return vec4f(load_b(k, c), load_b(k + 1u, c), load_b(k + 2u, c), load_b(k + 3u, c));
  }
  let c = col0 + (tid % Q) * 4u;
  let k = k0 + tid / Q;
  return vec4f(load_b(k, c), load_b(k, c + 1u), load_b(k, c + 2u), load_b(k, c + 3u));
}

fn store_b(buf: u32, tid: u32, v: vec4f) {
  let base = buf * BK * Q;
  if (!TRANS_B) {
    tb[base + (tid / Q) * Q + tid % Q] = v;
    return;
  }
  let n = tid / 2u;
  let k = (tid % 2u) * 4u;
  for (var c = 0u; c < 4u; c++) { tb[base + (k + c) * Q + n / 4u][n % 4u] = v[c]; }
}

@compute @workgroup_size(WG, WG)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let tid = lid.y * WG + lid.x;
  // acc[i * 2 + h]: output row i of this thread's 8, columns h·64 + tx·4 + {0..3}
  var acc: array<vec4f, 16>;
  store_a(0u, tid, fetch_a(tid, row0, 0u));
  store_b(0u, tid, fetch_b(tid, col0, 0u));
  workgroupBarrier();
  var buf = 0u;
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    let more = k0 + BK < p.k;
    var na = vec4f();
    var nb = vec4f();
    if (more) {
      na = fetch_a(tid, row0, k0 + BK);
      nb = fetch_b(tid, col0, k0 + BK);
    }
    let base = buf * BK * Q;
    for (var kk = 0u; kk < BK; kk++) {
      let a0 = ta[base + kk * Q + lid.y];
      let a1 = ta[base + kk * Q + 16u + lid.y];
      let b0 = tb[base + kk * Q + lid.x];
      let b1 = tb[base + kk * Q + 16u + lid.x];
      for (var i = 0u; i < 4u; i++) {
        acc[i * 2u] += a0[i] * b0;
        acc[i * 2u + 1u] += a0[i] * b1;
        acc[(i + 4u) * 2u] += a1[i] * b0;
        acc[(i + 4u) * 2u + 1u] += a1[i] * b1;
      }
    }
    if (more) {
      store_a(1u - buf, tid, na);
      store_b(1u - buf, tid, nb);
    }
    workgroupBarrier();
    buf = 1u - buf;
  }
  for (var i = 0u; i < 8u; i++) {
    let row = row0 + select(lid.y * 4u + i, 64u + lid.y * 4u + i - 4u, i >= 4u);
    if (row >= p.m) { continue; }
    for (var h = 0u; h < 2u; h++) {
      let col = col0 + h * 64u + lid.x * 4u;
      let v = acc[i * 2u + h];
      for (var c = 0u; c < 4u; c++) {
        if (col + c < p.n) { write_out(row, col + c, v[c]); }
      }
    }
  }
}
