// workgroup_sum through a shared-memory tree (tree_sum, kernel.ts treeReduction): the
// fallback for devices without `subgroups`. Put in front of reduce.wgsl and rmsnorm.wgsl (see
// reductionFamilies in kernel.ts).

// Σ value over the workgroup, returned to every invocation. Call from uniform control flow.
fn workgroup_sum(lane: Lane, value: f32) -> f32 {
  return tree_sum(lane.lid, value);
}
