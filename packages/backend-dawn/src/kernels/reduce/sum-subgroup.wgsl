// workgroup_sum with subgroupAdd: two barriers instead of log2(WG) rounds of shared memory.
// Put in front of reduce.wgsl and rmsnorm.wgsl (see reductionFamilies in kernel.ts).
// The subgroup size comes from the builtin (8 on lavapipe, 32 on NVIDIA, up to 128); nothing
// assumes a size, nor which local indices share a subgroup. Lanes are numbered 0..size−1 and
// WG (a power of two) is a multiple of the size or smaller than it, so no subgroup is partial.

var<workgroup> sh_sum: array<f32, WG>;

// Σ value over the workgroup, returned to every invocation. Call from uniform control flow.
fn workgroup_sum(lane: Lane, value: f32) -> f32 {
  let own = subgroupAdd(value);
  // One slot per invocation, so the subgroup layout does not matter: lane 0 of each subgroup
  // writes its subgroup's sum, the others 0.
  sh_sum[lane.lid] = select(0.0, own, lane.sg_lane == 0u);
  workgroupBarrier();
  // Every subgroup adds all slots (WG / size each lane), in the same order: the same total.
  var acc = 0.0;
  for (var k = lane.sg_lane; k < WG; k += lane.sg_size) { acc += sh_sum[k]; }
  let total = subgroupAdd(acc);
  workgroupBarrier();  // sh_sum may be written again by the next call
  return total;
}
