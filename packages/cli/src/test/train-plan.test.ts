import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig, planMemory } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { configOnlyDir, QWEN_05B, runCli, runSizeArgs, tmp } from './run-cli.js';

const PROMPT = ['--prompt', 'What is 2+3? Think step by step.'];

/** `oneshot-em train` of the model in `model` on PROMPT, with `flags`. */
const trainOn = (model: string, ...flags: string[]) =>
  runCli(['train', '--model', model, ...PROMPT, ...flags]);

describe('oneshot-em train --dry-run', () => {
  it('prints the plan from config.json alone (no safetensors) and exits 0', () => {
    const dir = configOnlyDir();
    const r = trainOn(dir, '--backend', 'dawn', '--device-memory', '141GiB', '--dry-run');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/memory plan · qwen2 494,032,768 params · dawn/);
    for (const name of ['weights (f32 master)', 'optimizer state (AdamW m, v)', 'KV cache', 'peak'])
      expect(r.stdout).toContain(name);
    expect(r.stdout).toMatch(
      /^fits: host [\d.]+ GiB of .* · device [\d.]+ GiB of 141 GiB \(--device-memory\)$/m,
    );
    expect(readdirSync(dir)).toEqual(['config.json']);
  });

  it('--json: one object with host_bytes, device_bytes, items, limits, fits and the knobs', () => {
    const dir = configOnlyDir();
    const r = trainOn(dir, '--backend', 'dawn', '--dry-run', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.params).toBe(494_032_768);
    expect(j.fits).toBe(true);
    expect(j.device_fits).toBeNull(); // WebGPU does not report the total: not checked
    expect(j.limits.device_source).toMatch(/unknown/);
    expect(j.knobs).toMatchObject({
      backend: 'dawn',
      micro_batch: 4,
      effective_batch: 64,
      max_new_tokens: 512,
    });
    // the same plan computed here from the config and the reported knobs
    const plan = planMemory({
      config: parseModelConfig(QWEN_05B, 'config.json'),
      backend: 'dawn',
      microBatch: 4,
      effectiveBatch: 64,
      promptTokens: j.knobs.prompt_tokens,
      maxNewTokens: 512,
      optimizer: 'adamw',
    });
    expect(j.host_bytes).toBe(plan.host_bytes);
    expect(j.device_bytes).toBe(plan.device_bytes);
    expect(j.items).toHaveLength(plan.items.length);
  });
});

describe('oneshot-em train refuses a plan that does not fit, before loading', () => {
  it('names the micro-batch that fits, computed, and exits 2 (no weights needed)', () => {
    const dir = configOnlyDir();
    const common = ['--backend', 'ort', '--device', 'cuda'];
    const dry = trainOn(dir, ...common, '--device-memory', '1TB', '--dry-run', '--json');
    expect(dry.status, dry.stderr).toBe(0);
    const promptTokens = JSON.parse(dry.stdout).knobs.prompt_tokens;
    const input = (microBatch: number) => ({
      config: parseModelConfig(QWEN_05B, 'config.json'),
      backend: 'ort-cuda' as const,
      microBatch,
      effectiveBatch: 64,
      promptTokens,
      maxNewTokens: 512,
      optimizer: 'adamw' as const,
    });
    const two = planMemory(input(2));
    const limit = String(two.device_bytes + 1);
    const r = trainOn(dir, ...common, '--micro-batch', '16', '--device-memory', limit);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /the memory plan does not fit: .* device [\d.]+ GiB of [\d.]+ GiB \(--device-memory\)/,
    );
    expect(r.stderr).toMatch(
      /micro_batch 16 → 2 fits \(device [\d.]+ GiB, host [\d.]+ GiB\) \[--micro-batch 2\]/,
    );
    // a limit that max_new_tokens 128 meets (and 256 does not) at micro-batch 16
    const g128 = planMemory({ ...input(16), maxNewTokens: 128 }).device_bytes + 1;
    expect(planMemory({ ...input(16), maxNewTokens: 256 }).device_bytes).toBeGreaterThan(g128);
    const g = trainOn(dir, ...common, '--micro-batch', '16', '--device-memory', String(g128));
    expect(g.status, g.stderr).toBe(2);
    expect(g.stderr).toMatch(/max_new_tokens 512 → 128 fits .* \[--max-new-tokens 128\]/);
    // refused before the backend or the weights: neither the CUDA EP nor model.safetensors is asked for
    expect(r.stderr).not.toMatch(/safetensors|CUDA EP|onnxruntime/i);
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(false);
  });

  it('refuses absurd sizes before anything is allocated: 1e9 layers; a 16M-token context', () => {
    // config.json's own bounds (size-limits.ts) stop 1e9 layers; the plan stops what they allow
    const layers = trainOn(configOnlyDir({ num_hidden_layers: 1e9 }));
    expect(layers.status, layers.stderr).toBe(2);
    expect(layers.stderr).toMatch(/num_hidden_layers/);
    const ctx = configOnlyDir({ max_position_embeddings: 2 ** 24 });
    const long = trainOn(ctx, '--max-new-tokens', '16000000');
    expect(long.status, long.stderr).toBe(2);
    expect(long.stderr).toMatch(/the memory plan does not fit: host [\d.]+ (TiB|PiB|EiB)/);
    expect(long.stderr).toMatch(/max_new_tokens 16000000 → \d+ fits/);
  });

  it('--json without --dry-run is a usage error', () => {
    const r = trainOn(configOnlyDir(), '--json');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--json goes with --dry-run/);
  });

  it('a bad --device-memory names the flag', () => {
    const r = trainOn(configOnlyDir(), '--device-memory', 'lots', '--dry-run');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--device-memory: expected a size such as 80GB/);
  });
});

describe('every run prints the plan in its header', () => {
  it('the embedded model: one "memory plan:" line that fits, then the run', () => {
    const out = tmp();
    const r = runCli(['train', ...runSizeArgs({ steps: 1 }), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^memory plan: host [\d.]+ MiB of [\d.]+ GiB available \(the device is host memory\) · 260,032 params · micro_batch 2 × \d+ tokens · fits$/m,
    );
  });
});
