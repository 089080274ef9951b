// The prologue shared by attention.wgsl and attention.backward.wgsl (put in front of each by
// kernels/attention/attention.ts, with MAX_D = ATTENTION_MAX_HEAD_DIM): the workgroup size, the
// head-dim split, the query-row decomposition and the row offsets of the layouts:
// q, out, d_out [B, T, H·D]; k, v [B, kv_rows, K·D], of which the first S rows per batch are
// read (kv_rows = S for dense k/v, the cache's Smax for a view of a KV cache); mask [B, S].
// Query t sees key s iff s ≤ q_offset + t and mask[b, s] ≠ 0. D ≤ ACC·WG; WG a power of two.

override WG: u32 = 64;
const ACC: u32 = 4u;  // head-dim elements per thread

struct QueryRow {
  b: u32,
  h: u32,
  t: u32,
  kvh: u32,  // the K/V head of query head h (GQA: H / K query heads share one)
}

// row = (b·H + h)·T + t, the order of lse and delta
fn query_row(row: u32) -> QueryRow {
  let h = (row / p.t) % p.h;
  return QueryRow(row / (p.t * p.h), h, row % p.t, h / (p.h / p.k));
}

fn row_base(b: u32, t: u32, h: u32) -> u32 {
  return (b * p.t + t) * p.h * p.d + h * p.d;
}

fn key_base(b: u32, s: u32, kvh: u32) -> u32 {
  return (b * p.kv_rows + s) * p.k * p.d + kvh * p.d;
}
