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
  base: u32,  // the row's offset in q, out and d_out
}

// row = (b·H + h)·T + t, the order of lse and delta
fn query_row(row: u32) -> QueryRow {
  let b = row / (p.t * p.h);
  let h = (row / p.t) % p.h;
  let t = row % p.t;
  return QueryRow(b, h, t, h / (p.h / p.k), row_base(b, t, h));
}

// The keys query t may see (causal) end here; `key_visible` adds the mask.
fn visible_end(t: u32) -> u32 {
  return min(p.s, p.q_offset + t + 1u);
}

fn key_visible(b: u32, j: u32, end: u32) -> bool {
  return j < end && mask[b * p.s + j] != 0;
}

fn row_base(b: u32, t: u32, h: u32) -> u32 {
  return (b * p.t + t) * p.h * p.d + h * p.d;
}

fn key_base(b: u32, s: u32, kvh: u32) -> u32 {
  return (b * p.kv_rows + s) * p.k * p.d + kvh * p.d;
}
