/**
 * Save + reload cost of a training checkpoint at a given model shape, in a process of its own
 * so that peak RSS is the save's or the load's:
 *   npx tsx tools/bench/checkpoint.ts save qwen2-25m /tmp/ck [f32|bf16|f16] [5GB]
 *   npx tsx tools/bench/checkpoint.ts load qwen2-25m /tmp/ck [model|state|both]
 * The weights and AdamW moments are served by a host backend that builds each tensor when it is
 * read (a deterministic ramp), so the process holds only what the save or load itself allocates.
 */
import * as fs from 'node:fs';
import {
  type Backend,
  type ModelConfig,
  type ModelWeights,
  numel,
  type OptimizerState,
  paramCount,
  paramSpecs,
  type Tensor,
} from '@oneshot-em/core';
import {
  loadCheckpointState,
  loadHfModel,
  parseShardSize,
  saveCheckpoint,
} from '@oneshot-em/core/node';
import { qwen2Config } from './models.js';

const SHAPES: Record<
  string,
  [hidden: number, inter: number, layers: number, heads: number, kv: number, vocab: number]
> = {
  'qwen2-25m': [512, 1408, 8, 8, 4, 32000],
  // ~255M: Qwen2.5-0.5B with 8 of its 24 layers
  'proxy-255m': [896, 4864, 8, 14, 2, 151936],
  'qwen2.5-0.5b': [896, 4864, 24, 14, 2, 151936],
};

function config(name: string): ModelConfig {
  const s = SHAPES[name];
  if (!s) throw new Error(`shape ${name}: expected one of ${Object.keys(SHAPES).join(', ')}`);
  const [hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, vocabSize] = s;
  return qwen2Config({ hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, vocabSize });
}

/** A tensor whose values exist only when read. */
interface LazyTensor extends Tensor {
  seed: number;
}

const POOL = Float32Array.from(
  { length: 1 << 20 },
  (_, i) => ((((i * 2654435761) >>> 0) % 2001) - 1000) / 1e4,
);

function lazyBackend(): Backend {
  const read = async (t: Tensor) => {
    const n = numel(t.shape);
    const out = new Float32Array(n);
    const seed = (t as LazyTensor).seed;
    // a pool tiled from a per-tensor offset: cheap next to the I/O being measured
    for (let i = 0; i < n; i += POOL.length - 4096) {
      const from = (seed * 7919) % 4096;
      out.set(POOL.subarray(from, from + Math.min(n - i, POOL.length - 4096)), i);
    }
    return out;
  };
  return { read } as unknown as Backend;
}

const mib = (b: number) => (b / 2 ** 20).toFixed(0);

async function main() {
  const [phase, shape, dir, arg3, arg4] = process.argv.slice(2);
  const cfg = config(shape);
  const t0 = performance.now();
  if (phase === 'save') {
    const tensor = (s: number[], seed: number): LazyTensor => ({ shape: s, dtype: 'f32', seed });
    const specs = paramSpecs(cfg);
    const w: ModelWeights = new Map(specs.map((s, k) => [s.name, tensor(s.shape, k)]));
    const opt: OptimizerState = {
      step: 1,
      m: new Map(specs.map((s, k) => [s.name, tensor(s.shape, 1000 + k)])),
      v: new Map(specs.map((s, k) => [s.name, tensor(s.shape, 2000 + k)])),
    };
    const empty = fs.mkdtempSync('/tmp/ckbench-src-');
    const state = {
      step: 1,
      optimizer: 'adamw' as const,
      seed: 1,
      effective_batch: 1,
      micro_batch: 1,
    };
    // the 8th argument is ignored by the single-file implementation
    const save = saveCheckpoint as (...a: unknown[]) => Promise<void>;
    await save(dir, lazyBackend(), cfg, w, opt, state, empty, {
      saveDtype: arg3 ?? 'f32',
      maxShardSize: arg4 === undefined ? undefined : parseShardSize(arg4),
    });
  } else {
    const what = arg3 ?? 'both';
    if (what !== 'state') loadHfModel(dir);
    if (what !== 'model') loadCheckpointState(dir, cfg);
  }
  const s = (performance.now() - t0) / 1000;
  const rss = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      phase,
      shape,
      params: paramCount(cfg),
      seconds: +s.toFixed(2),
      peak_rss_mib: +mib(rss),
    }),
  );
}

await main();
