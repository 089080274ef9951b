import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const main = join(import.meta.dirname, '..', 'main.ts');
// the workspace packages from their sources, as under vitest (see the packages' exports)
const NODE_ARGS = ['--conditions=oneshot-em-source', '--import', 'tsx'];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `oneshot-em ARGS` in a child process, as a user would. */
export function runCli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [...NODE_ARGS, main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `oneshot-em ARGS` without waiting (for kill tests). */
export function startCli(args: string[]) {
  return spawn(process.execPath, [...NODE_ARGS, main, ...args], { stdio: 'pipe' });
}

export const tmp = (prefix = 'oneshot-cli-') => mkdtempSync(join(tmpdir(), prefix));

/** Every backend the CLI offers; CI runs each (Dawn on lavapipe, ORT on its CPU EP). */
export const BACKENDS = ['ort', 'dawn'] as const;

/** The published Qwen2.5-0.5B config.json fields. */
export const QWEN_05B = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  tie_word_embeddings: true,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  eos_token_id: 151643,
};

/** A model directory with Qwen2.5-0.5B's config.json (with overrides) and NO weights: the plan only. */
export function configOnlyDir(overrides: Record<string, unknown> = {}): string {
  const dir = join(tmp('oneshot-plan-'), 'model');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...QWEN_05B, ...overrides }));
  return dir;
}

/**
 * The size flags of a small train run on the embedded model: `steps` steps of `effectiveBatch`
 * completions (`microBatch` at a time) of at most `maxNewTokens` tokens.
 */
export function runSizeArgs({
  steps = 2,
  effectiveBatch = 2,
  microBatch = 2,
  maxNewTokens = 8,
} = {}): string[] {
  return [
    '--steps',
    String(steps),
    '--effective-batch',
    String(effectiveBatch),
    '--micro-batch',
    String(microBatch),
    '--max-new-tokens',
    String(maxNewTokens),
  ];
}

/** A tiny run on the embedded model and the reference backend: 2 completions of 8 tokens a step, every step saved. */
export function tinyTrainArgs(steps = 2): string[] {
  return ['--backend', 'reference', ...runSizeArgs({ steps }), '--save-steps', '1'];
}
