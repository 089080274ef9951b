// Embedding gather (forward) and scatter-add (backward).
// ids [N] i32, table [V, C]. An id outside [0, V) gathers zeros and scatters nothing.
// A table split into row segments (runtime/segments.ts) runs once per segment: the segment
// holds rows [row0, row0 + v) of the v_total; each pass touches only the ids it holds.

override WG: u32 = 64;

// binding 2: gather reads the table through `read_b` (a weight-storage fragment, kernels/weights.ts:
// f32, bf16 or f16); scatter_add reads dOut through it too, always dispatched from the f32 module.

// out [N, C]: one thread per element.
@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= p.n * p.c) { return; }
  let id = ids[i / p.c];
  if (id < 0 || u32(id) >= p.v_total) {
    if (p.row0 == 0u) { out[i] = 0.0; }  // written once, by the first segment
    return;
  }
  let local = u32(id) - p.row0;  // wraps past v for ids below row0
  if (local >= p.v) { return; }
  out[i] = read_b(local * p.c + i % p.c);
}

// out [V, C] (zeroed beforehand) += dOut [N, C] (binding b) rows at ids. Thread (column, bucket) walks
// the tokens in order and adds those whose id % buckets is its bucket: each output element has
// one writer, so repeated ids add without atomics and the sum order is deterministic.
@compute @workgroup_size(WG)
fn scatter_add(@builtin(global_invocation_id) gid: vec3u) {
  let col = gid.x;
  let bucket = gid.y;
  if (col >= p.c || bucket >= p.buckets) { return; }
  for (var t = 0u; t < p.n; t++) {
    let id = ids[t];
    let local = u32(id) - p.row0;
    if (id < 0 || local >= p.v || local % p.buckets != bucket) { continue; }
    let o = local * p.c + col;
    out[o] = out[o] + read_b(t * p.c + col);
  }
}
