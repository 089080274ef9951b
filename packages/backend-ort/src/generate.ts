import {
  decodeStep,
  disposeKvCache,
  type GenerateOptions,
  type GenerateResult,
  type KvCache,
  type ModelConfig,
  type ModelWeights,
  prefill,
  preparePromptBatch,
  samplingUniforms,
  type TensorOps,
} from '@oneshot-em/core';
import { GraphBuilder, graph, int } from './graph/builder.js';
import { Lowering } from './graph/lowering.js';
import { OrtTensor } from './graph/trace.js';
import { upload } from './ops/data/data.js';
import { markPresent, sample } from './ops/sample/sample.js';
import { placeholder, type Tracer } from './tracer.js';

/**
 * Fused generation: ONE graph that prefills the prompt block and then decodes inside an ONNX
 * `Loop` whose state is (ids, positions, done, presence, per-layer k/v caches), with sampling on
 * the device and the uniforms uploaded once — so a batch of completions is one `session.run`,
 * with no per-token round trip of logits or cache. The Loop body is core's own `decodeStep`
 * traced once at the full cache length (the Loop body's Tracer, tracer.ts's LoopBody), by the
 * backend `bodyOps` makes for it, followed by core's
 * sampler semantics (`sample`, `markPresent`) and the EOS bookkeeping of core's `generate`,
 * whose request and result this reproduces exactly: a finished sequence is fed `padId`, the
 * Loop stops when every sequence is done or after maxNewTokens steps.
 */
export async function fusedGenerate(
  ctx: Tracer,
  ops: TensorOps,
  bodyOps: (body: Tracer) => TensorOps,
  config: ModelConfig,
  w: ModelWeights,
  opts: GenerateOptions,
): Promise<GenerateResult> {
  const { prompts, padId, maxNewTokens: G } = opts;
  if (!(Number.isInteger(G) && G >= 1)) {
    throw new Error(`generate: maxNewTokens = ${G}; expected an integer ≥ 1`);
  }
  // Host side shared with core's generate: left-padded ids, the key mask over all Smax rows,
  // positions and the presence rows (so both paths penalise exactly the same tokens).
  const { B, P, Smax, promptIds, mask, promptPositions, presence } = preparePromptBatch(
    config,
    opts,
  );
  const V = config.vocabSize;
  const rowsBefore = (data: Int32Array, width: number, count: number) => {
    const out = new Int32Array(B * count);
    for (let b = 0; b < B; b++) out.set(data.subarray(b * width, b * width + count), b * count);
    return out;
  };
  const column = (data: Int32Array, width: number, col: number) =>
    Int32Array.from({ length: B }, (_, b) => data[b * width + col]);

  const uploads: OrtTensor[] = [];
  const up = (data: Int32Array | Float32Array, shape: number[]) => {
    const t = upload(ctx, data, shape);
    uploads.push(t);
    return t;
  };
  // Zero caches made on the device (ConstantOfShape): `createKvCache`'s host zeros would be
  // uploaded, B·Smax·K·D·2·L floats per call.
  const kvShape = [B, Smax, config.numKvHeads * config.headDim];
  const zeroCache = () =>
    ctx.handle(
      ctx.values([], [{ shape: kvShape, dtype: 'f32' }], (b) => [
        b.op('ConstantOfShape', [b.constant('i64', kvShape, [kvShape.length])]),
      ])[0],
    );
  const cache: KvCache = {
    layers: Array.from({ length: config.numLayers }, () => ({ k: zeroCache(), v: zeroCache() })),
    B,
    maxLength: Smax,
    length: 0,
  };
  if (P > 1) {
    const n = P - 1;
    prefill(
      ops,
      config,
      w,
      cache,
      up(rowsBefore(promptIds, P, n), [B * n]),
      up(rowsBefore(promptPositions, P, n), [B * n]),
      up(rowsBefore(mask, Smax, n), [B, n]),
    );
  }
  const maskT = up(mask, [B, Smax]);
  const uniformsT = up(samplingUniforms(opts.seed, opts.counterBase ?? 0, B, G), [G, B]);
  const initial = [
    up(column(promptIds, P, P - 1), [B]),
    up(column(promptPositions, P, P - 1), [B]),
    up(new Int32Array(B), [B]),
    up(presence, [B, V]),
    ...cache.layers.flatMap((l) => [l.k as OrtTensor, l.v as OrtTensor]),
  ];

  // ---- the Loop body: placeholders for the iteration number and every state value ----
  const scope = ctx.exec.newScope();
  const iter = placeholder([], 'i32', scope);
  const state = initial.map((t) => placeholder(t.shape, t.dtype, scope));
  // The values bound to the body inputs (in-place ops re-point kv/presence handles below).
  const stateValues = state.map(OrtTensor.valueOf);
  const [idsPh, posPh, donePh, presencePh, ...kvPh] = state;
  const [cursor] = ctx.values(
    [OrtTensor.valueOf(iter)],
    [{ shape: [], dtype: 'i32' }],
    (b, [i]) => [b.op('Add', [i.name, b.constant('i32', [P - 1], [])])],
  );
  const ropeTables = new Map<string, [OrtTensor, OrtTensor]>();
  const bodyCtx = ctx.inLoop({
    scope,
    staticStart: Smax - 1,
    cursor,
    positionsLimit: Smax,
    ropeTables,
  });
  const bodyCache: KvCache = {
    layers: Array.from({ length: config.numLayers }, (_, l) => ({
      k: kvPh[2 * l],
      v: kvPh[2 * l + 1],
    })),
    B,
    maxLength: Smax,
    length: Smax - 1,
  };
  const logits = decodeStep(bodyOps(bodyCtx), config, w, bodyCache, idsPh, posPh, maskT);
  const [u] = bodyCtx.values(
    [OrtTensor.valueOf(uniformsT), OrtTensor.valueOf(iter)],
    [{ shape: [B], dtype: 'f32' }],
    (b, [us, i]) => [b.op('Gather', [us.name, i.name], { axis: int(0) })],
  );
  const next = sample(bodyCtx, logits, presencePh, bodyCtx.handle(u), opts.sampling);
  markPresent(bodyCtx, presencePh, next);
  const eos = opts.eosIds.length > 0 ? [...opts.eosIds] : [-1];
  const [current, done] = bodyCtx.values(
    [OrtTensor.valueOf(next), OrtTensor.valueOf(donePh)],
    [
      { shape: [B], dtype: 'i32' },
      { shape: [B], dtype: 'i32' },
    ],
    (b, [n, d]) => {
      const wasDone = b.cast(d.name, 'bool');
      const tok = b.op('Where', [wasDone, b.constant('i32', [padId], []), n.name]);
      const isEos = b.reduceMax(
        b.cast(
          b.op('Equal', [b.reshape(tok, [B, 1]), b.constant('i32', eos, [1, eos.length])]),
          'i32',
        ),
        [1],
        false,
      );
      return [tok, b.op('Max', [d.name, isEos])];
    },
  );
  const [positions] = bodyCtx.values(
    [OrtTensor.valueOf(posPh)],
    [{ shape: [B], dtype: 'i32' }],
    (b, [p]) => [b.op('Add', [p.name, b.constant('i32', [1], [])])],
  );
  const bodyOut = [
    current,
    positions,
    done,
    OrtTensor.valueOf(presencePh),
    ...kvPh.map(OrtTensor.valueOf),
  ];
  // the scan output: the tokens of every step
  const scan = bodyOut[0];

  const initialValues = initial.map(OrtTensor.valueOf);
  const loopOutputs = [
    ...initialValues.map((v) => ({ shape: v.shape, dtype: v.dtype })),
    { shape: [G, B], dtype: 'i32' as const, dynamicRows: true },
  ];
  const outs = ctx.values(initialValues, loopOutputs, (b, inputs, outer) => {
    const body = new GraphBuilder(b);
    const lowering = new Lowering(body, outer, scope);
    const iterIn = body.fresh('iter');
    const condIn = body.fresh('cond');
    body.addInput(iterIn, 'i64', []);
    body.addInput(condIn, 'bool', []);
    lowering.bind(OrtTensor.valueOf(iter), body.cast(iterIn, 'i32'));
    for (const ph of stateValues) {
      const name = body.fresh('state');
      body.addInput(name, ph.dtype, ph.shape);
      lowering.bind(ph, name);
    }
    const outNames = bodyOut.map((v) => body.op('Identity', [lowering.lower(v)]));
    const scanName = body.op('Identity', [lowering.lower(scan)]);
    const allDone = body.op('ReduceMin', [outNames[2]], { keepdims: int(0) });
    const cond = body.op('Not', [body.cast(allDone, 'bool')]);
    body.addOutput(cond, 'bool', []);
    outNames.forEach((name, i) => {
      body.addOutput(name, bodyOut[i].dtype, bodyOut[i].shape);
    });
    body.addOutput(scanName, 'i32', [B]);
    const trips = b.constant('i64', [G], []);
    const go = b.cast(b.constant('i32', [1], []), 'bool');
    return b.node(
      'Loop',
      [trips, go, ...inputs.map((x) => x.name)],
      { body: graph(body.toGraph('decode_step')) },
      inputs.length + 1,
    );
  });
  const tokensT = ctx.handle(outs[outs.length - 1]);
  // The traced ops keep what they need; dropping the handles first keeps the prefilled caches
  // from being copied back to the host by the read (which returns every live value).
  for (const t of [...uploads, ...[...ropeTables.values()].flat()]) ctx.dispose(t);
  disposeKvCache(ops, cache);
  const tokens = (await ops.read(tokensT)) as Int32Array;
  ctx.dispose(tokensT);

  const steps = tokens.length / B;
  const generated = prompts.map((_, b) =>
    Array.from({ length: steps }, (_, t) => tokens[t * B + b]),
  );
  const sequences = generated.map((g, b) => [...promptIds.subarray(b * P, (b + 1) * P), ...g]);
  const completions = generated.map((g) => {
    const eosAt = g.findIndex((id) => opts.eosIds.includes(id));
    return eosAt < 0 ? g : g.slice(0, eosAt + 1);
  });
  return { sequences, promptLength: P, completions };
}
