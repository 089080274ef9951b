/**
 * Host↔device traffic of generation, per backend, from `Backend.transfers()`: decoding 2N
 * tokens instead of N must not add O(N) logits ([B, V] per token) or KV caches. A fused
 * generate (ORT's one-graph Loop, Dawn's decode loop on the GPU) moves the same number of
 * transfers whatever N; the generic decode loop (reference) reads back only the sampled ids,
 * B·4 bytes a token, and uploads a bounded number of small host arrays per token (ids,
 * positions, mask prefix).
 *
 * Dawn needs a Vulkan adapter (lavapipe on CPU machines): without one the Dawn case skips
 * locally and fails under CI=true.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Backend,
  type ModelWeights,
  rollout,
  type TransferCounter,
  uploadWeights,
} from '@oneshot-em/core';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { type BackendSpec, createBenchBackend, parseBackendSpec } from './backends.js';
import { BENCH_SAMPLING, randomRows } from './measure.js';
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
