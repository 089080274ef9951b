// The bookkeeping of one on-device decode step, so the generation loop never needs the host:
// after `sample` produced next [B], for every sequence b
//   current[b]  ← pad if b finished at an earlier step, else next[b]  (the next input id)
//   history[step, b] ← current[b]                                     (the generated tokens)
//   positions[b] += 1
//   done_at[b]  ← step, the first time current[b] is one of the EOS ids (−1 while running)
// exactly the host loop of core's generic `generate`.

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn advance(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= p.b) { return; }
  let finished = done_at[b] >= 0;
  let id = select(next[b], p.pad, finished);
  current[b] = id;
  history[p.step * p.b + b] = id;
  positions[b] = positions[b] + 1;
  if (!finished) {
    for (var e = 0u; e < p.n_eos; e++) {
      if (id == eos[e]) { done_at[b] = i32(p.step); }
    }
  }
}
