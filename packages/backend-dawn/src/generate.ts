/**
 * Generation with the whole decode loop on the GPU: the sampled ids feed the next step
 * directly, and the EOS bookkeeping runs in a kernel (kernels/decode), so the host only reads
 * the per-sequence "done" flags every CHECK_EVERY steps (without waiting for them until
 * CHECK_EVERY steps later) and the generated ids at the end — not every token. Each step is
 * one submit, recorded while the GPU runs the ones before it. Same request, result and RNG
 * counters as core's generic `generate` (the conformance suite runs both and compares them
 * token for token).
 */
import {
  createKvCache,
  decodeStep,
  disposeKvCache,
  type GenerateOptions,
  type GenerateResult,
  type ModelConfig,
  type ModelWeights,
  prefill,
  preparePromptBatch,
  samplingUniforms,
  type Tensor,
  type TensorOps,
} from '@oneshot-em/core';

/** Steps between reads of the done flags: an early stop wastes at most twice this many steps. */
export const CHECK_EVERY = 16;

/** What the loop needs of the backend's command queue beyond `TensorOps`. */
export interface DecodeQueueOps {
  /**
   * Submits the step just recorded, so the GPU runs it while the host records the next;
   * `recordMs`: the host's time recording it (counted for tools/bench).
   */
  endStep(recordMs: number): void;
  /**
   * Starts copying `t` (i32) to the host behind the work already recorded; the promise gives
   * the values once the GPU gets there (the loop awaits nothing else mid-generation).
   */
  readLater(t: Tensor): Promise<Int32Array>;
}

/** What the loop needs beyond `TensorOps`; the backend implements it with its kernels. */
export interface DecodeLoopOps {
  /** mask [B, Smax] i32 → its first `length` columns as [B, length] */
  maskPrefix(mask: Tensor, length: number): Tensor;
  /** The step bookkeeping of kernels/decode/decode.wgsl (in place on current, positions, doneAt, history). */
  advance(
    t: {
      next: Tensor;
      eos: Tensor;
      current: Tensor;
      positions: Tensor;
      doneAt: Tensor;
      history: Tensor;
    },
    p: { step: number; pad: number; eosCount: number },
  ): void;
}

export async function generateOnDevice(
  ops: TensorOps,
  loop: DecodeLoopOps & DecodeQueueOps,
  config: ModelConfig,
  w: ModelWeights,
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const { padId, maxNewTokens: G } = opts;
  const V = config.vocabSize;
  const batch = preparePromptBatch(config, opts);
  const { B, P, Smax, mask, presence } = batch;

  const cache = createKvCache(ops, config, B, Smax);
  const maskT = ops.upload(mask, [B, Smax]);
  if (P > 1) {
    const n = P - 1;
    const ids = ops.upload(batch.prefill.ids, [B * n]);
    const positions = ops.upload(batch.prefill.positions, [B * n]);
    const keyMask = loop.maskPrefix(maskT, n);
    prefill(ops, config, w, cache, ids, positions, keyMask);
    for (const t of [ids, positions, keyMask]) ops.dispose(t);
  }
  const state = {
    current: ops.upload(batch.last.ids, [B]),
    positions: ops.upload(batch.last.positions, [B]),
    doneAt: ops.upload(new Int32Array(B).fill(-1), [B]),
    history: ops.zeros([Math.max(1, G), B], 'i32'),
    eos: ops.upload(opts.eosIds.length > 0 ? Int32Array.from(opts.eosIds) : new Int32Array([-1]), [
      Math.max(1, opts.eosIds.length),
    ]),
  };
  const presenceT = ops.upload(presence, [B, V]);
  const uniformsT = ops.upload(
    samplingUniforms(opts.seed, opts.counterBase ?? 0, B, Math.max(1, G)),
    [Math.max(1, G), B],
  );

  const allDone = (doneAt: Int32Array) => doneAt.every((d) => d >= 0);
  // Every CHECK_EVERY steps the done flags are copied out behind the step just recorded and
  // looked at CHECK_EVERY steps later, so the GPU always has those steps queued instead of
  // draining at each check; awaiting them keeps the host from racing further ahead (a
  // software adapter runs slower than the host records). The steps run past the last EOS
  // are cut off below (`steps`), so the result is core's.
  let check: Promise<Int32Array> | null = null;
  let ran = 0;
  for (let t = 0; t < G; t++) {
    const t0 = performance.now();
    // the copy first: it ends no compute pass then, so a step is one pass and one submit
    const u = ops.sliceRows(uniformsT, t, 1); // [1, B]
    const keyMask = loop.maskPrefix(maskT, P + t);
    const logits = decodeStep(ops, config, w, cache, state.current, state.positions, keyMask);
    const next = ops.sample(logits, presenceT, u, opts.sampling);
    ops.markPresent(presenceT, next);
    loop.advance({ ...state, next }, { step: t, pad: padId, eosCount: opts.eosIds.length });
    for (const x of [keyMask, logits, u, next]) ops.dispose(x);
    ran = t + 1;
    loop.endStep(performance.now() - t0);
    if (ran === G) break;
    if (ran % CHECK_EVERY === 0) {
      const previous = check;
      check = loop.readLater(state.doneAt);
      check.catch(() => undefined); // awaited later; meanwhile a rejection is not unhandled
      if (previous && allDone(await previous)) break;
    }
  }
  if (check) await check;
  // Core's loop stops right after the step at which the last sequence finished.
  const doneAt = (await ops.read(state.doneAt)) as Int32Array;
  const steps = allDone(doneAt) ? Math.max(...doneAt) + 1 : ran;
  const history = (await ops.read(state.history)) as Int32Array;
  for (const x of [maskT, presenceT, uniformsT, ...Object.values(state)]) ops.dispose(x);
  disposeKvCache(ops, cache);

  return batch.result(
    Array.from({ length: B }, (_, b) =>
      Array.from({ length: steps }, (_, t) => history[t * B + b]),
    ),
  );
}
