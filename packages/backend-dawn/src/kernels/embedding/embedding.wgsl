// Embedding gather (forward) and scatter-add (backward).
// ids [N] i32, table [V, C]. An id outside [0, V) gathers zeros and scatters nothing.

struct Params {
  n: u32,  // tokens
  c: u32,  // row width
  v: u32,  // table rows
  buckets: u32,  // scatter_add: table rows are split by id % buckets
}

override WG: u32 = 64;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// out [N, C]: one thread per element.
@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.n * p.c) { return; }
  let id = ids[i / p.c];
  if (id < 0 || u32(id) >= p.v) { out[i] = 0.0; return; }
  out[i] = src[u32(id) * p.c + i % p.c];
}

// out [V, C] (zeroed beforehand) += src [N, C] rows at ids. Thread (column, bucket) walks
// the tokens in order and adds those whose id % buckets is its bucket: each output element has
// one writer, so repeated ids add without atomics and the sum order is deterministic.
@compute @workgroup_size(WG)
fn scatter_add(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  let bucket = gid.y;
  if (col >= p.c || bucket >= p.buckets) { return; }
  for (var t = 0u; t < p.n; t++) {
    let id = ids[t];
    if (id < 0 || u32(id) >= p.v || u32(id) % p.buckets != bucket) { continue; }
    let o = u32(id) * p.c + col;
    out[o] = out[o] + src[t * p.c + col];
  }
}
