import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../io/hf-config.js';
import type { ModelConfig } from '../model/config.js';
import { paramCount } from '../model/params.js';
import { type MemoryLimits, planFits, suggestFits } from './memory-fit.js';
import {
  type MemoryPlan,
  type MemoryPlanInput,
  parseByteSize,
  planMemory,
  plannedParamCount,
} from './memory-plan.js';

/** The published config.json fields of the Qwen2.5 models (7B: untied embeddings). */
function qwen25(
  hidden: number,
  intermediate: number,
  layers: number,
  heads: number,
  kvHeads: number,
  vocab: number,
  tied: boolean,
  extra: Record<string, unknown> = {},
): ModelConfig {
  return parseModelConfig(
    {
      model_type: 'qwen2',
      hidden_size: hidden,
      intermediate_size: intermediate,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      num_key_value_heads: kvHeads,
      vocab_size: vocab,
      tie_word_embeddings: tied,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_theta: 1e6,
      eos_token_id: 151643,
      ...extra,
    },
    'config.json',
  );
}

const QWEN_05B = qwen25(896, 4864, 24, 14, 2, 151936, true);
const QWEN_15B = qwen25(1536, 8960, 28, 12, 2, 151936, true);
const QWEN_7B = qwen25(3584, 18944, 28, 28, 4, 152064, false);
const LLAMA = parseModelConfig(
  {
    model_type: 'llama',
    hidden_size: 64,
    intermediate_size: 172,
    num_hidden_layers: 5,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    vocab_size: 512,
    attention_bias: true,
    tie_word_embeddings: false,
  },
  'config.json',
);

const base = (config: ModelConfig, over: Partial<MemoryPlanInput> = {}): MemoryPlanInput => ({
  config,
  backend: 'dawn',
  microBatch: 4,
  effectiveBatch: 64,
  promptTokens: 64,
  maxNewTokens: 512,
  optimizer: 'adamw',
  ...over,
});

const item = (plan: MemoryPlan, name: string) => {
  const found = plan.items.find((i) => i.name === name);
  if (!found) throw new Error(`no item '${name}' in ${plan.items.map((i) => i.name).join(', ')}`);
  return found.host_bytes + found.device_bytes;
};

describe('planMemory: parameter bytes', () => {
  it.each([
    ['Qwen2.5-0.5B', QWEN_05B, 494_032_768],
    ['Qwen2.5-1.5B', QWEN_15B, 1_543_714_304],
    ['Qwen2.5-7B (untied)', QWEN_7B, 7_615_616_512],
    ['llama with attention biases', LLAMA, paramCount(LLAMA)],
  ])('%s: the published count, equal to the paramSpecs table', (_, config, published) => {
    expect(paramCount(config)).toBe(published);
    expect(plannedParamCount(config)).toBe(published);
    for (const backend of ['ort-cpu', 'ort-cuda', 'dawn', 'reference'] as const) {
      const plan = planMemory(base(config, { backend }));
      expect(plan.params).toBe(published);
      expect(item(plan, 'weights (f32 master)')).toBe(4 * published);
      expect(item(plan, 'gradients (accumulator, f32)')).toBe(4 * published);
      expect(item(plan, 'optimizer state (AdamW m, v)')).toBe(8 * published);
    }
  });

  it('SGD keeps no optimizer state', () => {
    const plan = planMemory(base(QWEN_05B, { optimizer: 'sgd' }));
    expect(plan.items.some((i) => i.name.startsWith('optimizer state'))).toBe(false);
  });

  it('ORT: 24 B/param of host state when accumulating (target) + the measured copy, 20 with one micro-batch', () => {
    const P = 494_032_768;
    const persistentAndOutputs = (p: MemoryPlan) =>
      p.items
        .filter((i) => /^(weights|gradients|optimizer state|ORT session outputs)/.test(i.name))
        .reduce((s, i) => s + i.host_bytes, 0);
    const accumulating = planMemory(base(QWEN_05B, { backend: 'ort-cpu' }));
    expect(persistentAndOutputs(accumulating)).toBe(24 * P);
    expect(item(accumulating, 'ORT accumulation copy (measured)')).toBe(4 * P);
    const one = planMemory(base(QWEN_05B, { backend: 'ort-cpu', effectiveBatch: 4 }));
    expect(persistentAndOutputs(one)).toBe(20 * P);
  });
});

describe('planMemory: activations, logits, KV cache', () => {
  const acts = (over: Partial<MemoryPlanInput>) =>
    item(planMemory(base(QWEN_15B, over)), 'activations saved for backward');

  it('saved activations are linear in micro-batch and in context (B·T tokens)', () => {
    const a = acts({ microBatch: 1, promptTokens: 64, maxNewTokens: 64 });
    expect(acts({ microBatch: 2, promptTokens: 64, maxNewTokens: 64 })).toBe(2 * a);
    expect(acts({ microBatch: 4, promptTokens: 64, maxNewTokens: 64 })).toBe(4 * a);
    expect(acts({ microBatch: 1, promptTokens: 128, maxNewTokens: 128 })).toBe(2 * a);
    expect(acts({ microBatch: 2, promptTokens: 128, maxNewTokens: 128 })).toBe(4 * a);
  });

  it('saved activations count what forward.ts keeps per layer (independent sum)', () => {
    const c = QWEN_15B;
    const [B, T] = [4, 576];
    const N = B * T;
    const [C, F, qd, kd] = [c.hiddenSize, c.intermediateSize, 12 * 128, 2 * 128];
    // x ln1 x1 ln2 · q att · k v · gate up act · rstd1 rstd2 · lse [B,H,T]
    const perLayer = N * (4 * C + 2 * qd + 2 * kd + 3 * F + 2) + B * c.numHeads * T;
    const final = N * C * 2 + N; // xFinal, hidden, rstdFinal
    expect(acts({ microBatch: B, promptTokens: 64, maxNewTokens: 512 })).toBe(
      4 * (c.numLayers * perLayer + final),
    );
  });

  it('the KV cache is B × L × 2 × Smax × K·D f32 (×2 as ORT loop state); none for given rollouts', () => {
    const kv = 4 * 28 * 2 * 576 * 256 * 4;
    expect(item(planMemory(base(QWEN_15B)), 'KV cache')).toBe(kv);
    expect(item(planMemory(base(QWEN_15B, { backend: 'ort-cuda' })), 'KV cache')).toBe(2 * kv);
    const given = planMemory(base(QWEN_15B, { sampling: false }));
    expect(given.items.some((i) => i.name === 'KV cache')).toBe(false);
  });

  it('logits are one head chunk [min(N, 256), V], not [N, V]', () => {
    expect(item(planMemory(base(QWEN_15B)), 'logits (one head chunk)')).toBe(4 * 256 * 151936);
    const tiny = planMemory(base(QWEN_15B, { microBatch: 1, promptTokens: 10, maxNewTokens: 20 }));
    expect(item(tiny, 'logits (one head chunk)')).toBe(4 * 30 * 151936);
  });
});

describe('planMemory: host, device and the peak', () => {
  it('the peak of each side is persistent + the largest phase (recomputed here)', () => {
    for (const backend of ['ort-cpu', 'ort-cuda', 'dawn', 'reference'] as const) {
      const plan = planMemory(base(QWEN_15B, { backend }));
      for (const side of ['host_bytes', 'device_bytes'] as const) {
        const by = (phase: string) =>
          plan.items.filter((i) => i.phase === phase).reduce((s, i) => s + i[side], 0);
        expect(plan[side]).toBe(
          by('persistent') + Math.max(by('rollout'), by('train'), by('save')),
        );
      }
    }
  });

  it('ORT CPU and the reference count the device as host memory, once', () => {
    for (const backend of ['ort-cpu', 'reference'] as const) {
      const plan = planMemory(base(QWEN_05B, { backend }));
      expect(plan.unified).toBe(true);
      expect(plan.device_bytes).toBe(0);
      expect(plan.items.every((i) => i.device_bytes === 0)).toBe(true);
    }
    const cuda = planMemory(base(QWEN_05B, { backend: 'ort-cuda' }));
    expect(cuda.unified).toBe(false);
    // the optimizer runs on the host: no optimizer state on the device
    expect(cuda.items.find((i) => i.name.startsWith('optimizer state'))?.device_bytes).toBe(0);
    expect(cuda.device_bytes).toBeGreaterThan(0);
  });

  it('Dawn on a software adapter (lavapipe) counts its buffers as host memory', () => {
    const gpu = planMemory(base(QWEN_05B));
    const cpu = planMemory(base(QWEN_05B, { deviceIsHost: true }));
    expect(cpu.unified).toBe(true);
    expect(cpu.device_bytes).toBe(0);
    expect(cpu.host_bytes).toBeGreaterThan(gpu.device_bytes);
    expect(cpu.host_bytes).toBeLessThanOrEqual(gpu.host_bytes + gpu.device_bytes);
  });

  it('Dawn keeps the training state on the device; the optimizer on the host moves 8 B/param', () => {
    const P = 1_543_714_304;
    const onDevice = planMemory(base(QWEN_15B));
    const onHost = planMemory(base(QWEN_15B, { optimizerOn: 'host' }));
    // the f32 master (the loaded copy) and m, v on the host; the device keeps the uploaded f32
    // weights, and the pool's size-class rounding of m and v goes with them (half of it)
    const rounding = (plan: typeof onDevice) =>
      plan.items.find((i) => i.name === 'buffer size classes (Dawn pool)')?.device_bytes ?? 0;
    expect(rounding(onHost)).toBe(rounding(onDevice) / 2);
    expect(onDevice.device_bytes - onHost.device_bytes).toBe(8 * P + rounding(onHost));
    expect(
      onHost.items.some((i) => i.name === 'optimizer state (AdamW m, v)' && i.host_bytes === 8 * P),
    ).toBe(true);
    expect(onHost.host_bytes - onDevice.host_bytes).toBe(8 * P);
  });

  it('Dawn bf16 with the optimizer on the host: the matrices keep only the compute copy', () => {
    const c = QWEN_15B;
    const f32 = planMemory(base(c, { optimizerOn: 'host' }));
    const bf16 = planMemory(base(c, { optimizerOn: 'host', dtype: 'bf16' }));
    // Qwen2.5-1.5B, tied: norm gains (2L + 1)·C and q, k, v biases L·(H·D + 2·K·D) stay f32;
    // the largest matrix (the embedding, V·C) is staged in f32 while it is uploaded
    const L = 28;
    const C = 1536;
    const vectors = (2 * L + 1) * C + L * (C + 2 * 256);
    const staged = 151936 * C;
    // f32: 4 B/param uploaded; bf16: 2 B/param of compute copy + the f32 vectors + the staging
    expect(f32.device_bytes - bf16.device_bytes).toBe(
      4 * plannedParamCount(c) - 2 * plannedParamCount(c) - 4 * (vectors + staged),
    );
  });

  it('a 16-bit compute dtype adds a compute copy next to the f32 master', () => {
    const P = 1_543_714_304;
    const f32 = planMemory(base(QWEN_15B, { backend: 'ort-cuda' }));
    const bf16 = planMemory(base(QWEN_15B, { backend: 'ort-cuda', dtype: 'bf16' }));
    // ORT CUDA feeds the weights to each run: f32 4 B/param on the device → bf16 2 B/param
    expect(f32.device_bytes - bf16.device_bytes).toBe(2 * P);
  });
});

describe('planFits and suggestFits', () => {
  const limits = (device: number | null, host: number | null = 1e15): MemoryLimits => ({
    host_available_bytes: host,
    device_total_bytes: device,
    device_source: '--device-memory',
  });

  it('an unknown device total is not checked; a unified plan checks the host only', () => {
    const plan = planMemory(base(QWEN_15B));
    expect(planFits(plan, limits(null))).toEqual({
      fits: true,
      host_fits: true,
      device_fits: null,
    });
    expect(planFits(plan, limits(1e9)).fits).toBe(false);
    const cpu = planMemory(base(QWEN_15B, { backend: 'ort-cpu' }));
    expect(planFits(cpu, limits(1, cpu.host_bytes)).fits).toBe(true);
    expect(planFits(cpu, limits(1, cpu.host_bytes - 1)).fits).toBe(false);
  });

  it('names the micro-batch and max_new_tokens that fit, each computed', () => {
    const input = base(QWEN_15B, { microBatch: 16 });
    const limit = planMemory({ ...input, microBatch: 2 }).device_bytes + 1;
    const s = suggestFits(input, limits(limit), { dtype: true, optimizerOnHost: true });
    const mb = s.find((x) => x.knob === 'micro_batch');
    expect(mb?.to).toBe(2);
    expect(mb?.text).toMatch(/^micro_batch 16 → 2 fits \(device [\d.]+ GiB/);
    const g = s.find((x) => x.knob === 'max_new_tokens');
    expect(g).toBeDefined();
    for (const x of s) expect(x.device_bytes).toBeLessThanOrEqual(limit);
    // the next larger setting would not have fitted
    const gTo = Number(g?.to);
    expect(planMemory({ ...input, maxNewTokens: gTo * 2 }).device_bytes).toBeGreaterThan(limit);
    expect(suggestFits(input, limits(null))).toEqual([]);
  });

  it('micro-batches that do not divide the effective batch are never suggested', () => {
    const input = base(QWEN_15B, { microBatch: 6, effectiveBatch: 48 });
    const limit = planMemory({ ...input, microBatch: 3 }).device_bytes + 1;
    expect(suggestFits(input, limits(limit)).find((x) => x.knob === 'micro_batch')?.to).toBe(3);
  });

  it('Qwen2.5-7B on Dawn fits one H200 (141 GB device, 128 GiB host) with the optimizer on the host, and the fit says so', () => {
    const h200 = limits(141e9, 128 * 2 ** 30);
    const paper = base(QWEN_7B); // 64 × 512 new tokens, micro-batch 4
    expect(planFits(planMemory(paper), h200).fits).toBe(false);
    const s = suggestFits(paper, h200, { optimizerOnHost: true });
    const on = s.find((x) => x.knob === 'optimizer_on');
    expect(on?.to).toBe('host');
    expect(on?.device_bytes).toBeLessThanOrEqual(141e9);
    const offloaded = planMemory({ ...paper, optimizerOn: 'host' });
    expect(planFits(offloaded, h200).fits).toBe(true);
    // the gpu-check stage: one completion of 64 + 512 tokens, no buffer pool
    const stage = planMemory({
      ...paper,
      effectiveBatch: 1,
      microBatch: 1,
      optimizerOn: 'host',
      poolBytes: 0,
    });
    expect(planFits(stage, h200).fits).toBe(true);
    // not offered where the optimizer is on the host already
    expect(
      suggestFits({ ...paper, optimizerOn: 'host' }, limits(1e9), { optimizerOnHost: true }).some(
        (x) => x.knob === 'optimizer_on',
      ),
    ).toBe(false);
  });

  it('nothing is suggested when the weights and optimizer state alone do not fit', () => {
    expect(suggestFits(base(QWEN_7B), limits(40e9))).toEqual([]);
  });

  it('absurd configs are refused on paper, quickly, without allocating', () => {
    const t0 = performance.now();
    // built directly: parseModelConfig bounds these fields now (size-limits.ts); the plan
    // must hold on its own
    const layers: ModelConfig = { ...QWEN_05B, numLayers: 1e9 };
    const a = planMemory(base(layers));
    expect(a.absurd).toMatch(/beyond any machine/);
    expect(planFits(a, limits(null, null)).fits).toBe(false);
    expect(suggestFits(base(layers), limits(null))).toEqual([]);
    const ctx: ModelConfig = { ...QWEN_05B, maxPositionEmbeddings: 1e12 };
    const huge = base(ctx, { backend: 'ort-cpu', maxNewTokens: 1e9 });
    const plan = planMemory(huge);
    expect(planFits(plan, limits(null, 64e9)).fits).toBe(false);
    const s = suggestFits(huge, limits(null, 64e9));
    expect(s.find((x) => x.knob === 'max_new_tokens')?.text).toMatch(
      /^max_new_tokens 1000000000 → \d+ fits/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('parseByteSize', () => {
  it('reads decimal and binary units and plain bytes', () => {
    expect(parseByteSize('80GB', '--device-memory')).toBe(80e9);
    expect(parseByteSize('141GiB', '--device-memory')).toBe(141 * 2 ** 30);
    expect(parseByteSize('512 MiB', '--device-memory')).toBe(512 * 2 ** 20);
    expect(parseByteSize('1.5TB', '--device-memory')).toBe(1.5e12);
    expect(parseByteSize('4096', '--device-memory')).toBe(4096);
  });

  it('an unreadable size names the flag and the accepted form', () => {
    for (const bad of ['', 'lots', '-5GB', '0', '12 parsecs']) {
      expect(() => parseByteSize(bad, '--device-memory')).toThrow(
        /--device-memory: expected a size such as 80GB/,
      );
    }
  });
});
