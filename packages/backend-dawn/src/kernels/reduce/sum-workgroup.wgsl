// workgroup_sum through a shared-memory tree: the fallback for devices without `subgroups`.
// Put in front of reduce.wgsl and rmsnorm.wgsl (see reductionFamilies in kernel.ts).
// WG must be a power of two.

struct Lane {
  @builtin(local_invocation_index) lid: u32,
}

var<workgroup> sh_sum: array<f32, WG>;

// Σ value over the workgroup, returned to every invocation. Call from uniform control flow.
fn workgroup_sum(lane: Lane, value: f32) -> f32 {
  sh_sum[lane.lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    if (lane.lid < stride) { sh_sum[lane.lid] = sh_sum[lane.lid] + sh_sum[lane.lid + stride]; }
    workgroupBarrier();
  }
  let total = sh_sum[0];
  workgroupBarrier();  // sh_sum may be written again by the next call
  return total;
}
