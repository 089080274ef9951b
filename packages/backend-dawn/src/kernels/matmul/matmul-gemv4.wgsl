// Bandwidth-oriented matrix-vector kernel for decode (M ≤ 8 rows; the `matmul: 'gemv4'`
// option): out [M, N] = op(a) · op(b), the same parameters, transposes, blocks and
// `accumulate` as matmul.wgsl. Every element of b is read once and feeds all M rows from
// registers; b is read 4 contiguous elements at a time (`read_b4`: two whole words of a bf16
// copy), and one workgroup covers many output columns, so each workgroup streams a long run
// of b and reduces once, in workgroup memory (every adapter).
// - gemv4_rows (TRANS_B: b stored [N, K], the layout of every projection and the head): a
//   team of TEAM threads per column walks its row of b in vec4 steps (the team reads TEAM·16
//   contiguous bytes per step), then a tree sums the team's partials. TEAM is set per
//   dispatch (kernels/matmul/matmul.ts gemv4Team): 8 for a wide N (the head), up to WG for a
//   narrow one, so that there are enough workgroups to fill the device.
// - gemv4_cols (b stored [K, N]): each thread holds 4 adjacent columns and a slice of K
//   (k ≡ slice mod SLICES); one thread per (row, 4 columns) sums the slices' partials.
// Binding 2 (`b`, `read_b`, `read_b4`) comes from the weight-storage fragment (kernels/weights.ts).

override WG: u32 = 256;
const MAX_M: u32 = 8u;
override TEAM: u32 = 8u;  // gemv4_rows: threads per output column (a power of two ≤ WG)
const SLICES: u32 = 4u;   // gemv4_cols: threads along K per 4 columns

var<workgroup> partial: array<f32, MAX_M * WG>;   // gemv4_rows: [row][thread]
var<workgroup> partial4: array<vec4f, MAX_M * WG>; // gemv4_cols: [row][thread]

fn a4_at(row: u32, k: u32) -> vec4f {
  return vec4f(a_at(row, k), a_at(row, k + 1u), a_at(row, k + 2u), a_at(row, k + 3u));
}

@compute @workgroup_size(WG)
fn gemv4_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let cols = WG / TEAM;
  let first = (wid.y * nwg.x + wid.x) * cols;
  let col = first + lid / TEAM;
  let lane = lid % TEAM;
  var acc: array<f32, MAX_M>;
  if (col < p.n) {
    let row_b = p.off_b + col * p.ldb;
    let k4 = p.k - p.k % 4u;
    // two independent vec4 reads per step keep more of b in flight per thread
    var k = lane * 4u;
    for (; k + TEAM * 4u < k4; k += TEAM * 8u) {
      let w0 = read_b4(row_b + k);
      let w1 = read_b4(row_b + k + TEAM * 4u);
      for (var r = 0u; r < MAX_M; r++) {
        if (r < p.m) { acc[r] += dot(a4_at(r, k), w0) + dot(a4_at(r, k + TEAM * 4u), w1); }
      }
    }
    if (k < k4) {
      let w = read_b4(row_b + k);
      for (var r = 0u; r < MAX_M; r++) {
        if (r < p.m) { acc[r] += dot(a4_at(r, k), w); }
      }
    }
    for (var t = k4 + lane; t < p.k; t += TEAM) {
      let w = read_b(row_b + t);
      for (var r = 0u; r < MAX_M; r++) {
        if (r < p.m) { acc[r] += a_at(r, t) * w; }
      }
    }
  }
  // constant trip counts keep acc in registers (a dynamic index would spill it)
  for (var r = 0u; r < MAX_M; r++) {
    if (r < p.m) { partial[r * WG + lid] = acc[r]; }
  }
  workgroupBarrier();
  // a tree over each team's lanes (teams are TEAM consecutive threads)
  for (var s = TEAM / 2u; s > 0u; s = s / 2u) {
    if (lane < s) {
      for (var r = 0u; r < MAX_M; r++) {
        if (r < p.m) { partial[r * WG + lid] += partial[r * WG + lid + s]; }
      }
    }
    workgroupBarrier();
  }
  if (lane == 0u && col < p.n) {
    for (var r = 0u; r < MAX_M; r++) {
      if (r < p.m) { write_out(r, col, partial[r * WG + lid]); }
    }
  }
}

@compute @workgroup_size(WG)
fn gemv4_cols(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let quads = WG / SLICES;
  let first = (wid.y * nwg.x + wid.x) * quads * 4u;
  let c0 = first + (lid % quads) * 4u;
  let slice = lid / quads;
  var acc: array<vec4f, MAX_M>;
  if (c0 < p.n) {
    let whole = c0 + 3u < p.n;
    for (var k = slice; k < p.k; k += SLICES) {
      let o = p.off_b + k * p.ldb + c0;
      var w = vec4f();
      if (whole) {
        w = read_b4(o);
      } else {
        for (var c = 0u; c < 4u; c++) { if (c0 + c < p.n) { w[c] = read_b(o + c); } }
      }
      for (var r = 0u; r < MAX_M; r++) {
        if (r < p.m) { acc[r] += a_at(r, k) * w; }
      }
    }
  }
  for (var r = 0u; r < MAX_M; r++) {
    if (r < p.m) { partial4[r * WG + lid] = acc[r]; }
  }
  workgroupBarrier();
  // one thread per (row, column quad) sums the SLICES partials
  for (var i = lid; i < quads * p.m; i += WG) {
    let r = i / quads;
    let q = i % quads;
    var s = vec4f();
    for (var j = 0u; j < SLICES; j++) { s += partial4[r * WG + j * quads + q]; }
    for (var c = 0u; c < 4u; c++) {
      let col = first + q * 4u + c;
      if (col < p.n) { write_out(r, col, s[c]); }
    }
  }
}
