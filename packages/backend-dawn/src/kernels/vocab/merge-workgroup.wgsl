// row_merge through a shared-memory tree: the fallback for devices without `subgroups`.
// Put in front of vocab.wgsl (see reductionFamilies in kernel.ts). WG must be a power of two.

struct Lane {
  @builtin(local_invocation_index) lid: u32,
}

var<workgroup> sh_part: array<Partial, WG>;

// The workgroup's shares merged, returned to every invocation. Call from uniform control flow.
fn row_merge(lane: Lane, share: Partial) -> Partial {
  sh_part[lane.lid] = share;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lane.lid < stride) { sh_part[lane.lid] = combine(sh_part[lane.lid], sh_part[lane.lid + stride]); }
    workgroupBarrier();
  }
  let total = sh_part[0];
  workgroupBarrier();  // sh_part may be written again by the next call
  return total;
}
