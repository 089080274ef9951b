// Subgroup-matrix matmul (the `matmul: 'sgmat'` option; adapters with
// chromium-experimental-subgroup-matrix and an f16 × f16 → f32 config): out [M, N] =
// op(a) [M, K] · op(b) [K, N], the same parameters, transposes, blocks, `accumulate` and
// zero-padded edges as every matmul (matmul-common.wgsl). Both operands are rounded to f16
// when staged into workgroup memory (as the f16 kernel, matmulF16 in matmul.ts: f16's range
// and precision); products accumulate in f32 in the hardware's matrix units.
// The enables, the config's fragment shape (SM × SK left, SK × SN right, SM × SN result) and
// the weight-storage fragment (`read_b`) are put in front by kernels/matmul/subgroup-matrix.ts.
// A workgroup is 4 rows of WG = the adapter's largest subgroup size (Dawn requires the x size
// to be a multiple of it); each row, a subgroup, computes a 2SM × 2SN block as 2 × 2 result
// fragments, so the workgroup tile is 4SM × 4SN. Should a subgroup be narrower than WG, the
// subgroups of a row compute the same block and store the same values.

override WG: u32 = 32;  // the adapter's subgroupMaxSize (set by the descriptor)
const TM: u32 = 4u * SM;
const TN: u32 = 4u * SN;
const BK: u32 = 2u * SK;

var<workgroup> ta: array<f16, TM * BK>;           // [TM rows][BK k]
var<workgroup> tb: array<f16, BK * TN>;           // [BK k][TN cols]
var<workgroup> scratch: array<f32, 4u * SM * SN>;  // one result fragment per subgroup

alias Left = subgroup_matrix_left<f16, SK, SM>;
alias Right = subgroup_matrix_right<f16, SN, SK>;
alias Result = subgroup_matrix_result<f32, SN, SM>;

// Writes one result fragment (rows r0.., columns c0.. of out) through this subgroup's scratch,
// so the edges are cut element by element.
fn emit(sg: u32, lane: u32, v: Result, r0: u32, c0: u32) {
  subgroupMatrixStore(&scratch, sg * SM * SN, v, false, SN);
  workgroupBarrier();
  for (var i = lane; i < SM * SN; i += WG) {
    let row = r0 + i / SN;
    let col = c0 + i % SN;
    if (row < p.m && col < p.n) { write_out(row, col, scratch[sg * SM * SN + i]); }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG, 4)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wid.y * TM;
  let col0 = wid.x * TN;
  let tid = lid.y * WG + lid.x;
  let sg = lid.y;
  let sr = (sg / 2u) * 2u * SM;  // this subgroup's first row and column in the tile
  let sc = (sg % 2u) * 2u * SN;
  var c00 = Result();
  var c01 = Result();
  var c10 = Result();
  var c11 = Result();
  for (var k0 = 0u; k0 < p.k; k0 += BK) {
    for (var e = tid; e < TM * BK; e += 4u * WG) { ta[e] = f16(load_a(row0 + e / BK, k0 + e % BK)); }
    for (var e = tid; e < BK * TN; e += 4u * WG) { tb[e] = f16(load_b(k0 + e / TN, col0 + e % TN)); }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk += SK) {
      let l0 = subgroupMatrixLoad<Left>(&ta, sr * BK + kk, false, BK);
      let l1 = subgroupMatrixLoad<Left>(&ta, (sr + SM) * BK + kk, false, BK);
      let r0 = subgroupMatrixLoad<Right>(&tb, kk * TN + sc, false, TN);
      let r1 = subgroupMatrixLoad<Right>(&tb, kk * TN + sc + SN, false, TN);
      c00 = subgroupMatrixMultiplyAccumulate(l0, r0, c00);
      c01 = subgroupMatrixMultiplyAccumulate(l0, r1, c01);
      c10 = subgroupMatrixMultiplyAccumulate(l1, r0, c10);
      c11 = subgroupMatrixMultiplyAccumulate(l1, r1, c11);
    }
    workgroupBarrier();
  }
  emit(sg, lid.x, c00, row0 + sr, col0 + sc);
  emit(sg, lid.x, c01, row0 + sr, col0 + sc + SN);
  emit(sg, lid.x, c10, row0 + sr + SM, col0 + sc);
  emit(sg, lid.x, c11, row0 + sr + SM, col0 + sc + SN);
}
