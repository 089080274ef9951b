// row_merge with subgroupMax/subgroupAdd: two barriers instead of log2(WG) rounds over six
// shared arrays. Put in front of vocab.wgsl (see reductionFamilies in kernel.ts).
// The subgroup size comes from the builtin (8 on lavapipe, 32 on NVIDIA, up to 128); nothing
// assumes a size, nor which local indices share a subgroup. Lanes are numbered 0..size−1 and
// WG (a power of two) is a multiple of the size or smaller than it, so no subgroup is partial.

var<workgroup> sh_part: array<Partial, WG>;

// The subgroup's shares merged: rescale every share to the subgroup's max, then add.
fn subgroup_merge(share: Partial) -> Partial {
  let m = subgroupMax(share.m);
  let k = exp(share.m - m);
  return Partial(
    m,
    subgroupAdd(share.e * k),
    subgroupAdd(share.eu * k),
    subgroupAdd(share.e2 * k * k),
    subgroupAdd(share.su),
    subgroupAdd(share.count),
  );
}

// The workgroup's shares merged, returned to every invocation. Call from uniform control flow.
fn row_merge(lane: Lane, share: Partial) -> Partial {
  let own = subgroup_merge(share);
  // One slot per invocation, so the subgroup layout does not matter: lane 0 of each subgroup
  // writes its subgroup's merge, the others an empty share.
  if (lane.sg_lane == 0u) {
    sh_part[lane.lid] = own;
  } else {
    sh_part[lane.lid] = EMPTY;
  }
  workgroupBarrier();
  // Every subgroup merges all slots (WG / size each lane), in the same order: the same total.
  var acc = EMPTY;
  for (var k = lane.sg_lane; k < WG; k += lane.sg_size) { acc = combine(acc, sh_part[k]); }
  let total = subgroup_merge(acc);
  workgroupBarrier();  // sh_part may be written again by the next call
  return total;
}
