import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHfModel, saveHfModel } from '../io/hf-model.js';
import { resolveObjective } from '../objectives/resolve-objective.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { writeTinyModel } from '../testing/fixtures.js';
import { loadCheckpointState } from './checkpoint.js';
import { loadModel } from './load-model.js';
import { NonFiniteError, type TrainerSettings, train } from './trainer.js';
import { testOptimizerConfig } from '../testing/optimizer.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'oneshot-train-'));
const readState = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8'));

function settings(out: string, over: Partial<TrainerSettings> = {}): TrainerSettings {
  return {
    steps: 3,
    effectiveBatch: 4,
    microBatch: 2,
    sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1.15 },
    maxNewTokens: 12,
    optimizer: testOptimizerConfig('adamw'),
    clip: 1,
    seed: 7,
    saveSteps: 1,
    out,
    ...over,
  };
}

/**
 * How far a rate rounded to 3 decimals may lie from n / runtime when the runtime itself is the
 * 4-decimal rounding of the true one: half a unit, plus n's change over ±5e-5 s.
 */
const rateSlack = (n: number, runtime: number) => 5e-4 + (n * 5e-5) / (runtime - 5e-5) ** 2;

const SUMMARY_KEYS = [
  'epoch',
  'step',
  'total_flos',
  'train_loss',
  'train_runtime',
  'train_samples_per_second',
  'train_steps_per_second',
];

describe('trainer (reference backend, tiny qwen2)', () => {
  const dir = join(tmp(), 'tiny');
  writeTinyModel(dir, { kind: 'qwen2', seed: 3 });
  const prompts = [
    [1, 40, 41, 42],
    [1, 50],
  ];

  it('writes step checkpoints, final/, metrics.jsonl and run.svg; the loss is finite', async () => {
    const out = tmp();
    const backend = createReferenceBackend({ precision: 'f32' });
    const { metrics } = await train(
      backend,
      loadModel(dir),
      await resolveObjective('token-entropy'),
      { kind: 'sample', prompts },
      settings(out),
    );
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    for (const m of metrics) {
      expect(Number.isFinite(m.loss) && Number.isFinite(m.grad_norm)).toBe(true);
      expect(m.num_tokens).toBeGreaterThan(0);
      expect(m['completions/mean_length']).toBeGreaterThan(0);
    }
    expect(readdirSync(out).sort()).toEqual([
      'final',
      'metrics.jsonl',
      'run.svg',
      'step_1',
      'step_2',
      'step_3',
    ]);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    const saved = loadHfModel(join(out, 'final'));
    expect(saved.weights.size).toBe(loadModel(dir).weights.size);
    expect(existsSync(join(out, 'final', 'tokenizer.json'))).toBe(true);
    expect(loadCheckpointState(join(out, 'step_2'), saved.config).state.step).toBe(2);
  });

  it('--resume from a sharded bf16 checkpoint (bf16 base, save dtype auto) equals the uninterrupted run bit for bit', async () => {
    // a bf16 base model: the tiny fixture stored in bf16, so `auto` saves bf16
    const bf16Dir = join(tmp(), 'tiny-bf16');
    const base = loadModel(dir);
    saveHfModel(bf16Dir, base.config, base.weights, { dtype: 'bf16', copyFrom: dir });
    const objective = await resolveObjective('token-entropy');
    const sharded = { maxShardSize: 6_000 };
    const full = tmp();
    await train(
      createReferenceBackend({ precision: 'f32' }),
      loadModel(bf16Dir),
      objective,
      { kind: 'sample', prompts },
      settings(full, sharded),
    );
    const ck = join(full, 'step_1');
    const files = readdirSync(ck);
    expect(files).toContain('model.safetensors.index.json');
    expect(files).toContain('optimizer.safetensors.index.json');
    expect(files).toContain('master_weights.safetensors.index.json');
    expect(files.some((f) => /^optimizer-00001-of-\d{5}\.safetensors$/.test(f))).toBe(true);
    expect(JSON.parse(readFileSync(join(ck, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    const resumed = tmp();
    const model = loadModel(ck);
    const st = loadCheckpointState(ck, model.config);
    expect(st.masterWeights?.size).toBe(model.weights.size);
    await train(
      createReferenceBackend({ precision: 'f32' }),
      { ...model, dir: bf16Dir },
      objective,
      { kind: 'sample', prompts },
      settings(resumed, { ...sharded, resume: st }),
    );
    const a = loadCheckpointState(join(full, 'final'), model.config);
    const b = loadCheckpointState(join(resumed, 'final'), model.config);
    for (const [x, y] of [
      [a.masterWeights, b.masterWeights],
      [a.m, b.m],
      [a.v, b.v],
    ] as const) {
      expect(x?.size).toBe(model.weights.size);
      for (const [name, wa] of x ?? []) expect(y?.get(name), name).toEqual(wa);
    }
    // the bf16 files themselves are identical too
    for (const f of readdirSync(join(full, 'final')).filter((f) => f.startsWith('model-'))) {
      expect(
        readFileSync(join(resumed, 'final', f)).equals(readFileSync(join(full, 'final', f))),
        f,
      ).toBe(true);
    }
    // resuming from a rounded checkpoint without master weights is refused
    const lossy = join(tmp(), 'lossy');
    saveHfModel(lossy, model.config, model.weights, {
      dtype: 'bf16',
      extraFiles: {
        'oneshot_em_state.json': readFileSync(join(ck, 'oneshot_em_state.json'), 'utf8'),
      },
    });
    for (const f of readdirSync(ck).filter((f) => f.startsWith('optimizer')))
      copyFileSync(join(ck, f), join(lossy, f));
    expect(() => loadCheckpointState(lossy, model.config)).toThrow(
      /BF16 and it has no master_weights/,
    );
  });

  it('--resume from step k equals the uninterrupted run bit for bit', async () => {
    const full = tmp();
    const objective = await resolveObjective('token-entropy');
    await train(
      createReferenceBackend({ precision: 'f32' }),
      loadModel(dir),
      objective,
      { kind: 'sample', prompts },
      settings(full),
    );
    const resumed = tmp();
    const ck = join(full, 'step_1');
    const model = loadModel(ck);
    const st = loadCheckpointState(ck, model.config);
    await train(
      createReferenceBackend({ precision: 'f32' }),
      { ...model, dir },
      objective,
      { kind: 'sample', prompts },
      settings(resumed, { resume: st }),
    );
    const a = loadHfModel(join(full, 'final')).weights;
    const b = loadHfModel(join(resumed, 'final')).weights;
    for (const [name, wa] of a) expect(b.get(name), name).toEqual(wa);
    const la = readFileSync(join(full, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).loss);
    const lb = readFileSync(join(resumed, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).loss);
    expect(lb).toEqual(la.slice(1));
  });

  it('linear schedule with warmup: learning_rate per step as get_scheduler; --resume continues it bit for bit', async () => {
    const objective = await resolveObjective('token-entropy');
    // 4 steps, 1 warmup: multipliers after 0, 1, 2, 3 updates are 0, 1, 2/3, 1/3
    const lrSchedule = { type: 'linear' as const, warmupSteps: 1, maxSteps: 4 };
    const run = (out: string, over: Partial<TrainerSettings> = {}, model = loadModel(dir)) =>
      train(
        createReferenceBackend({ precision: 'f32' }),
        { ...model, dir },
        objective,
        { kind: 'sample', prompts },
        settings(out, { steps: 4, lrSchedule, ...over }),
      );
    const full = tmp();
    const { metrics } = await run(full);
    const lr = 1e-2;
    const want = [0, lr, (lr * 2) / 3, lr / 3];
    metrics.forEach((m, i) => {
      expect(m.learning_rate).toBeCloseTo(want[i], 15);
    });
    // with rate 0 the first update leaves the weights but for weight decay × 0: unchanged
    const base = loadModel(dir).weights;
    for (const [name, w] of loadHfModel(join(full, 'step_1')).weights)
      expect(w, name).toEqual(base.get(name));
    const ck = join(full, 'step_2');
    const model = loadModel(ck);
    const st = loadCheckpointState(ck, model.config);
    expect(st.state).toMatchObject({ lr_scheduler_type: 'linear', warmup_steps: 1, max_steps: 4 });
    const resumed = tmp();
    const r = await run(resumed, { resume: st }, model);
    expect(r.metrics.map((m) => m.learning_rate)).toEqual(
      metrics.slice(2).map((m) => m.learning_rate),
    );
    const a = loadHfModel(join(full, 'final')).weights;
    const b = loadHfModel(join(resumed, 'final')).weights;
    for (const [name, wa] of a) expect(b.get(name), name).toEqual(wa);
  });

  it('trainer_state.json: global_step, max_steps, log_history of every step so far; --save-total-limit keeps the newest', async () => {
    const out = tmp();
    const { metrics } = await train(
      createReferenceBackend({ precision: 'f32' }),
      loadModel(dir),
      await resolveObjective('token-entropy'),
      { kind: 'sample', prompts },
      settings(out, { steps: 4, saveTotalLimit: 2 }),
    );
    expect(readdirSync(out).sort()).toEqual([
      'final',
      'metrics.jsonl',
      'run.svg',
      'step_3',
      'step_4',
    ]);
    const hf = JSON.parse(readFileSync(join(out, 'step_3', 'trainer_state.json'), 'utf8'));
    expect(hf).toMatchObject({
      global_step: 3,
      max_steps: 4,
      train_batch_size: 2,
      save_steps: 1,
      epoch: 6, // 3 steps × 4 completions over 2 prompts
      num_input_tokens_seen: metrics[2].num_tokens,
      stateful_callbacks: { TrainerControl: { args: { should_training_stop: false } } },
    });
    expect(hf.log_history.map((e: { step: number }) => e.step)).toEqual([1, 2, 3]);
    expect(hf.log_history[2]).toEqual({
      'completions/clipped_ratio': metrics[2]['completions/clipped_ratio'],
      'completions/max_length': metrics[2]['completions/max_length'],
      'completions/mean_length': metrics[2]['completions/mean_length'],
      'completions/min_length': metrics[2]['completions/min_length'],
      entropy: metrics[2].entropy,
      epoch: 6,
      grad_norm: metrics[2].grad_norm,
      learning_rate: metrics[2].learning_rate,
      loss: metrics[2].loss,
      num_tokens: metrics[2].num_tokens,
      step: 3,
    });
    // HF's estimate: 6 · non-embedding parameters · padded input tokens; grows every step
    const flos = (d: string) =>
      JSON.parse(readFileSync(join(out, d, 'trainer_state.json'), 'utf8')).total_flos;
    expect(flos('step_4')).toBeGreaterThan(flos('step_3'));
    expect(flos('final')).toBe(flos('step_4'));
    const fin = JSON.parse(readFileSync(join(out, 'final', 'trainer_state.json'), 'utf8'));
    expect(fin.stateful_callbacks.TrainerControl.args.should_training_stop).toBe(true);
  });

  it('--resume in place reads an old metrics.jsonl line (lr, tokens, seconds) and continues num_tokens', async () => {
    const out = tmp();
    const objective = await resolveObjective('token-entropy');
    const run = () =>
      train(
        createReferenceBackend({ precision: 'f32' }),
        loadModel(dir),
        objective,
        { kind: 'sample', prompts },
        settings(out),
      );
    const { metrics: first } = await run();
    // step 1 as an older version wrote it; steps 2, 3 are redone from step_1
    const m1 = first[0];
    const old = {
      step: 1,
      loss: m1.loss,
      entropy: m1.entropy,
      grad_norm: m1.grad_norm,
      lr: m1.learning_rate,
      tokens: 7,
      tokens_per_s: m1.tokens_per_s,
      seconds: { rollout: 1, loss_grad: 2, optimizer: 3, checkpoint: 4, total: 10 },
      transfers: m1.transfers,
    };
    writeFileSync(join(out, 'metrics.jsonl'), `${JSON.stringify(old)}\n`);
    const ck = join(out, 'step_1');
    const model = loadModel(ck);
    const { metrics } = await train(
      createReferenceBackend({ precision: 'f32' }),
      { ...model, dir },
      objective,
      { kind: 'sample', prompts },
      settings(out, { resume: loadCheckpointState(ck, model.config) }),
    );
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(lines[0]).toMatchObject({
      learning_rate: m1.learning_rate,
      num_tokens: 7,
      step_time: 10,
    });
    expect(lines[0]).not.toHaveProperty('lr');
    expect(lines[0]['completions/mean_length']).toBeNull();
    // the redone steps add what the first run's steps 2 and 3 added
    expect(metrics.slice(1).map((m) => m.num_tokens - 7)).toEqual(
      first.slice(1).map((m) => m.num_tokens - m1.num_tokens),
    );
  });

  it('stops on a non-finite loss or gradient with the step number and saves nothing for it', async () => {
    const out = tmp();
    const run = train(
      createReferenceBackend({ precision: 'f32' }),
      loadModel(dir),
      await resolveObjective('token-entropy'),
      { kind: 'sample', prompts },
      settings(out, {
        optimizer: { kind: 'sgd', lr: 1e38, beta1: 0, beta2: 0, eps: 0, weightDecay: 0 },
        clip: 0,
      }),
    );
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    const step = (err as NonFiniteError).step;
    expect((err as Error).message).toMatch(new RegExp(`^step ${step}: `));
    expect(existsSync(join(out, `step_${step}`))).toBe(false);
    expect(existsSync(join(out, 'final'))).toBe(false);
  });

  it("final/ ends log_history with HF's summary; a step checkpoint has none; eval_steps is 500", async () => {
    const out = tmp();
    const started = performance.now();
    const { metrics } = await train(
      createReferenceBackend({ precision: 'f32' }),
      loadModel(dir),
      await resolveObjective('token-entropy'),
      { kind: 'sample', prompts },
      settings(out),
    );
    const wall = (performance.now() - started) / 1000;
    const fin = readState(join(out, 'final'));
    const step3 = readState(join(out, 'step_3'));
    expect(fin.eval_steps).toBe(500);
    expect(step3.eval_steps).toBe(500);
    expect(step3.log_history.map((e: { step: number }) => e.step)).toEqual([1, 2, 3]);
    expect(fin.log_history.slice(0, 3)).toEqual(step3.log_history);
    expect(fin.log_history).toHaveLength(4);
    const s = fin.log_history[3];
    expect(Object.keys(s)).toEqual(SUMMARY_KEYS);
    // 3 steps × 4 completions over 2 prompts
    expect(s).toMatchObject({ step: 3, epoch: 6, total_flos: fin.total_flos });
    const mean = metrics.reduce((a, m) => a + m.loss, 0) / metrics.length;
    expect(s.train_loss).toBeCloseTo(mean, 12);
    // the runtime lies within the call's wall time and is not shorter than the steps' own
    const stepTimes = metrics.reduce((a, m) => a + m.step_time, 0);
    expect(s.train_runtime).toBeGreaterThan(0);
    expect(s.train_runtime).toBeLessThanOrEqual(wall);
    expect(s.train_runtime).toBeGreaterThanOrEqual(
      stepTimes - metrics.at(-1)!['time/checkpoint'] - 1e-3,
    );
    expect(Math.abs(s.train_steps_per_second - 3 / s.train_runtime)).toBeLessThanOrEqual(
      rateSlack(3, s.train_runtime),
    );
    expect(Math.abs(s.train_samples_per_second - 12 / s.train_runtime)).toBeLessThanOrEqual(
      rateSlack(12, s.train_runtime),
    );
  });

  it('a resumed run: the summary averages every logged step, its rates count the steps it ran', async () => {
    const out = tmp();
    const objective = await resolveObjective('token-entropy');
    const run = (over: Partial<TrainerSettings>, from = dir) =>
      train(
        createReferenceBackend({ precision: 'f32' }),
        loadModel(from),
        objective,
        { kind: 'sample', prompts },
        settings(out, over),
      );
    const first = await run({});
    const ck = join(out, 'step_1');
    const resumed = await run({ resume: loadCheckpointState(ck, loadModel(ck).config) }, ck);
    expect(resumed.metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    const s = readState(join(out, 'final')).log_history.at(-1);
    const mean = resumed.metrics.reduce((a, m) => a + m.loss, 0) / 3;
    expect(s.train_loss).toBeCloseTo(mean, 12);
    // the resumed steps redo the same rollouts, so the losses match the first run's
    expect(mean).toBeCloseTo(first.metrics.reduce((a, m) => a + m.loss, 0) / 3, 5);
    expect(Math.abs(s.train_steps_per_second - 2 / s.train_runtime)).toBeLessThanOrEqual(
      rateSlack(2, s.train_runtime),
    );
  });
});
