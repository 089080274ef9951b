/**
 * One EM step of a random Qwen2-shaped model on Dawn through core's train(), at the adapter's
 * real binding limit (or --max-binding-bytes): proves a model whose embedding exceeds the limit
 * trains (row segments), and reports wall time, host peak RSS, the device memory peak and how
 * many segments the embedding took. Given completions (no sampling) unless --sample.
 *
 *   XDG_RUNTIME_DIR=/tmp/xdg npx tsx packages/backend-dawn/scripts/em-step.ts --shape proxy
 *   XDG_RUNTIME_DIR=/tmp/xdg npx tsx packages/backend-dawn/scripts/em-step.ts --shape qwen2.5-0.5b
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ModelConfig, paramSpecs, type WeightMap } from '@oneshot-em/core';
import { resolveObjective, train } from '@oneshot-em/core/node';
import { createDawnBackend } from '../src/index.js';
import { DawnTensor } from '../src/runtime/tensor.js';

/** [hidden, intermediate, layers, heads, kv heads, vocab] */
const SHAPES: Record<string, [number, number, number, number, number, number]> = {
  // the embedding (151936 × 256 f32 = 155.6 MB) exceeds lavapipe's 128 MiB binding limit
  proxy: [256, 1024, 2, 4, 2, 151936],
  // Qwen2.5-0.5B's published config (tied)
  'qwen2.5-0.5b': [896, 4864, 24, 14, 2, 151936],
};

const { values: a } = parseArgs({
  options: {
    shape: { type: 'string', default: 'proxy' },
    batch: { type: 'string', default: '2' },
    'prompt-tokens': { type: 'string', default: '16' },
    'completion-tokens': { type: 'string', default: '48' },
    'max-binding-bytes': { type: 'string' },
    'pool-bytes': { type: 'string' },
    sample: { type: 'boolean', default: false },
  },
});
const shape = SHAPES[a.shape ?? ''];
if (!shape)
  throw new Error(`--shape ${a.shape}: expected one of ${Object.keys(SHAPES).join(', ')}`);
const int = (flag: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} ${v}: expected a positive integer`);
  return n;
};
const B = int('batch', a.batch);
const P = int('prompt-tokens', a['prompt-tokens']);
const G = int('completion-tokens', a['completion-tokens']);

const [C, F, L, H, K, V] = shape;
const config: ModelConfig = {
  modelType: 'qwen2',
  hiddenSize: C,
  intermediateSize: F,
  numLayers: L,
  numHeads: H,
  numKvHeads: K,
  headDim: C / H,
  rmsNormEps: 1e-6,
  ropeTheta: 1e6,
  ropeStyle: 'half',
  maxPositionEmbeddings: 32768,
  vocabSize: V,
  tieWordEmbeddings: true,
  qkvBias: true,
  oBias: false,
  bosTokenId: null,
  eosTokenIds: [2],
  padTokenId: null,
  torchDtype: 'float32',
};

// Random weights with sane magnitudes (speed and memory do not depend on the values): a cheap
// LCG, matrices scaled to 1/√in, norm gains 1, biases 0.01.
const weights: WeightMap = new Map();
let state = 12345;
for (const spec of paramSpecs(config)) {
  const n = spec.shape.reduce((x, y) => x * y, 1);
  const w = new Float32Array(n);
  if (spec.shape.length === 1) w.fill(spec.name.endsWith('norm.weight') ? 1 : 0.01);
  else {
    const s = 2 / Math.sqrt(spec.shape[1]);
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      w[i] = (state / 2 ** 32 - 0.5) * s;
    }
  }
  weights.set(spec.name, w);
}
const params = [...weights.values()].reduce((n, w) => n + w.length, 0);

const backend = await createDawnBackend({
  ...(a['max-binding-bytes'] && {
    maxBindingBytes: int('max-binding-bytes', a['max-binding-bytes']),
  }),
  ...(a['pool-bytes'] && { poolBytes: int('pool-bytes', a['pool-bytes']) }),
});
const probe = backend.zeros([V, C]);
const segments = DawnTensor.segments(probe).length;
backend.dispose(probe);
const rows = Array.from({ length: B }, (_, b) => ({
  promptIds: Array.from({ length: P }, (_, t) => 100 + ((b * 31 + t * 7) % 5000)),
  completionIds: Array.from({ length: G }, (_, t) => 200 + ((b * 17 + t * 13) % 9000)),
}));
const dir = mkdtempSync(join(tmpdir(), 'dawn-em-step-'));
const t0 = performance.now();
const { metrics } = await train(
  backend,
  { config, weights, dir, eosIds: [2], padId: 0 },
  await resolveObjective('token-entropy'),
  a.sample ? { kind: 'sample', prompts: rows.map((r) => r.promptIds) } : { kind: 'given', rows },
  {
    steps: 1,
    effectiveBatch: B,
    microBatch: B,
    sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
    maxNewTokens: G,
    optimizer: { kind: 'adamw', lr: 2e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
    clip: 1,
    seed: 42,
    saveSteps: 0,
    out: join(dir, 'out'),
  },
);
const seconds = (performance.now() - t0) / 1000;
const device = backend.memory();
await backend.destroy();
rmSync(dir, { recursive: true, force: true });
const m = metrics[0];
console.log(
  JSON.stringify({
    shape: a.shape,
    params,
    backend: backend.name,
    binding_limit: backend.bindingLimit,
    embedding_bytes: V * C * 4,
    embedding_segments: segments,
    batch: B,
    tokens: B * (P + G),
    loss: m.loss,
    grad_norm: m.grad_norm,
    seconds,
    phases: {
      rollout: m['time/rollout'],
      loss_grad: m['time/loss_grad'],
      optimizer: m['time/optimizer'],
      checkpoint: m['time/checkpoint'],
    },
    device_peak_bytes: device.peakBytes,
    host_peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  }),
);
