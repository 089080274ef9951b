/**
 * Host↔device traffic of generation, per backend, from `Backend.transfers()`: decoding 2N
 * tokens instead of N must not add O(N) logits ([B, V] per token) or KV caches. A fused
 * generate (ORT's one-graph Loop, Dawn's decode loop on the GPU) moves the same number of
 * transfers whatever N; the generic decode loop (reference) reads back only the sampled ids,
 * B·4 bytes a token, and uploads a bounded number of small host arrays per token (ids,
 * positions, mask prefix).
 *
 * And of an EM step (core's trainer, 2 micro-batches, token entropy): every `metrics.jsonl` line
 * reports the step's `transfers` (Backend.transfers() deltas); ORT feeds the weights once per
 * micro-batch at most (one graph per micro-batch), Dawn and the reference keep them resident.
 *
 * Dawn needs a Vulkan adapter (lavapipe on CPU machines): without one the Dawn case skips
 * locally and fails under CI=true.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Backend,
  type ModelWeights,
  rollout,
  type StepMetrics,
  type TransferCounter,
  uploadWeights,
} from '@oneshot-em/core';
import { resolveObjective, train } from '@oneshot-em/core/node';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { type BackendSpec, createBenchBackend, parseBackendSpec } from './backends.js';
import { BENCH_OPTIMIZER, BENCH_SAMPLING, benchRows, randomRows } from './measure.js';
import { benchModel } from './models.js';

const model = benchModel('stories260K');
const B = 2;
const P = 4;
const N = 6;
const V = model.config.vocabSize;
const prompts = randomRows(V, B, P, 5);

function delta(a: TransferCounter, b: TransferCounter): TransferCounter {
  return {
    uploads: b.uploads - a.uploads,
    reads: b.reads - a.reads,
    bytesUp: b.bytesUp - a.bytesUp,
    bytesDown: b.bytesDown - a.bytesDown,
  };
}

/** The traffic of one generation of G tokens (after a warm-up of the same shape). */
async function traffic(backend: Backend, w: ModelWeights, G: number): Promise<TransferCounter> {
  const run = () =>
    rollout(backend, model.config, w, {
      prompts,
      sampling: BENCH_SAMPLING,
      maxNewTokens: G,
      seed: 3,
      eosIds: [],
      padId: model.padId,
    });
  await run();
  await backend.sync();
  const before = backend.transfers();
  const result = await run();
  await backend.sync();
  expect(result.completions.map((c) => c.length)).toEqual([G, G]);
  return delta(before, backend.transfers());
}

const backends = new Map<string, Backend>();
afterAll(async () => {
  for (const b of backends.values()) await b.destroy();
});

async function open(spec: BackendSpec, ctx: TestContext): Promise<Backend> {
  if (spec.kind === 'dawn' && !process.env.XDG_RUNTIME_DIR) {
    process.env.XDG_RUNTIME_DIR = join(tmpdir(), `xdg-${process.getuid?.() ?? 'user'}`);
    mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  }
  try {
    const b = await createBenchBackend(spec);
    backends.set(spec.label, b);
    return b;
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    ctx.skip(`${spec.label} unavailable: ${(e as Error).message.split('\n')[0]}`);
    throw e;
  }
}

function report(label: string, n: TransferCounter, n2: TransferCounter): string {
  return `${label}: N=${N} ${JSON.stringify(n)}, 2N=${2 * N} ${JSON.stringify(n2)}`;
}

/** Bytes a decode may move per extra token: ids, positions, uniforms, a mask row — no [B, V]. */
const smallPerToken = B * 4 * (3 + P + 2 * N);

async function measured(label: string, ctx: TestContext) {
  const backend = await open(parseBackendSpec(label), ctx);
  const w = uploadWeights(backend, model.config, model.weights);
  const n = await traffic(backend, w, N);
  const n2 = await traffic(backend, w, 2 * N);
  return { backend, n, n2, what: report(label, n, n2) };
}

describe('host↔device transfers of a decode of N vs 2N tokens', () => {
  it('the per-token byte bound is far below one logits row per token', () => {
    expect(smallPerToken).toBeLessThan((B * V * 4) / 8);
  });

  for (const label of ['ort', 'dawn', 'reference']) {
    it(`${label}: N more tokens read back only their sampled ids; a fused generate moves O(1) transfers`, async (ctx) => {
      const { backend, n, n2, what } = await measured(label, ctx);
      expect(n2.bytesDown - n.bytesDown, what).toBeLessThanOrEqual(N * B * 4);
      if (backend.generate) {
        expect(n2.uploads, what).toBe(n.uploads);
        expect(n2.reads, what).toBe(n.reads);
      } else {
        // the generic loop: one read of the sampled ids and ids/positions/mask uploads per step
        expect(n2.reads - n.reads, what).toBe(N);
        expect(n2.uploads - n.uploads, what).toBeLessThanOrEqual(3 * N);
      }
    });
  }

  // ORT's Loop makes its zero KV caches on the device (before, it uploaded them: O(N) bytes)
  for (const label of ['ort', 'dawn', 'reference']) {
    it(`${label}: N more tokens upload no logits or KV caches`, async (ctx) => {
      const { n, n2, what } = await measured(label, ctx);
      expect(n2.bytesUp - n.bytesUp, what).toBeLessThanOrEqual(N * smallPerToken);
    });
  }
});

describe('host↔device transfers of an EM step (2 micro-batches), from metrics.jsonl', () => {
  const weightBytes = model.params * 4;
  for (const label of ['ort', 'dawn', 'reference']) {
    it(`${label}: each line reports the step's transfers; bytes up ≤ 3× the f32 weights`, async (ctx) => {
      const backend = await open(parseBackendSpec(label), ctx);
      const out = mkdtempSync(join(tmpdir(), 'bench-em-transfers-'));
      const wl = { genBatch: 1, effectiveBatch: 2, microBatch: 1, promptTokens: 4, newTokens: 8 };
      const before = backend.transfers();
      await train(
        backend,
        { config: model.config, weights: new Map(model.weights), dir: out, eosIds: [], padId: 0 },
        await resolveObjective('token-entropy'),
        { kind: 'given', rows: benchRows(model, 2, wl) },
        {
          steps: 2,
          effectiveBatch: 2,
          microBatch: 1,
          sampling: BENCH_SAMPLING,
          maxNewTokens: 8,
          optimizer: BENCH_OPTIMIZER,
          clip: 1,
          seed: 1,
          saveSteps: 0,
          out: join(out, 'run'),
        },
      );
      const total = delta(before, backend.transfers());
      const lines = readFileSync(join(out, 'run', 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as StepMetrics);
      const what = `${label}: ${lines.map((m) => JSON.stringify(m.transfers)).join(' ')}`;
      expect(lines).toHaveLength(2);
      for (const m of lines) {
        expect(m.transfers.bytes_up / weightBytes, what).toBeLessThanOrEqual(3);
        // the statistics (and on ORT the gradients) come back: the counter sees real traffic
        expect(m.transfers.bytes_down, what).toBeGreaterThan(0);
      }
      // the steps' deltas are the counter's: the rest is the initial upload and the save
      const steps = lines.reduce((n, m) => n + m.transfers.bytes_up, 0);
      expect(steps, what).toBeLessThanOrEqual(total.bytesUp);
      if (label === 'ort') expect(lines[1].transfers.bytes_up / weightBytes).toBeGreaterThan(1.5);
      else expect(lines[1].transfers.bytes_up / weightBytes, what).toBeLessThan(0.5);
    });
  }
});
