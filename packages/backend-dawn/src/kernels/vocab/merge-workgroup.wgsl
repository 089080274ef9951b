// row_merge through a shared-memory tree (tree_merge, kernel.ts treeReduction): the fallback
// for devices without `subgroups`. Put in front of vocab.wgsl (see reductionFamilies in
// kernel.ts).

// The workgroup's shares merged, returned to every invocation. Call from uniform control flow.
fn row_merge(lane: Lane, share: Partial) -> Partial {
  return tree_merge(lane.lid, share);
}
