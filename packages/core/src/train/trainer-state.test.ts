import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveObjective } from '../objectives/resolve-objective.js';
import { createReferenceBackend } from '../reference/reference-backend.js';
import { writeTinyModel } from '../testing/fixtures.js';
import { testOptimizerConfig } from '../testing/optimizer.js';
import { loadCheckpointState } from './checkpoint.js';
import { trainSummaryEntry } from './hf-trainer-state.js';
import { loadModel } from './load-model.js';
import { type TrainerSettings, train } from './trainer.js';

/** trainer_state.json's end-of-training entry and eval_steps, as HF Trainer writes them. */
const tmp = () => mkdtempSync(join(tmpdir(), 'oneshot-trainer-state-'));
const readState = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8'));

const model = join(tmp(), 'tiny');
writeTinyModel(model, { kind: 'qwen2', seed: 5 });
const prompts = [
  [1, 40, 41],
  [1, 50],
  [1, 60, 61, 62],
];

function settings(out: string, over: Partial<TrainerSettings> = {}): TrainerSettings {
  return {
    steps: 3,
    effectiveBatch: 2,
    microBatch: 1,
    sampling: { temperature: 0.5, topP: 0.95, topK: 0, repetitionPenalty: 1 },
    maxNewTokens: 6,
    optimizer: testOptimizerConfig('adamw'),
    clip: 1,
    seed: 11,
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

describe('trainer_state.json: the end-of-training summary', () => {
  it('rounds as speed_metrics does, averages the step losses, and leaves out the rates at zero runtime', () => {
    const e = trainSummaryEntry({
      runtimeS: 12.345678,
      stepsRun: 3,
      effectiveBatch: 4,
      totalFlos: 99,
      losses: [1, 2, 4.5],
      epoch: 2,
      step: 3,
    });
    expect(e).toEqual({
      train_runtime: 12.3457,
      train_samples_per_second: 0.972, // 12 / 12.345678 = 0.97200…
      train_steps_per_second: 0.243, // 3 / 12.345678 = 0.24300…
      total_flos: 99,
      train_loss: 2.5,
      epoch: 2,
      step: 3,
    });
    const zero = trainSummaryEntry({
      ...{ runtimeS: 0, stepsRun: 1, effectiveBatch: 1 },
      totalFlos: 0,
      losses: [1],
      epoch: 1,
      step: 1,
    });
    expect(Object.keys(zero).sort()).toEqual([
      'epoch',
      'step',
      'total_flos',
      'train_loss',
      'train_runtime',
    ]);
  });

  it("final/ ends log_history with HF's summary; a step checkpoint has none; eval_steps is 500", async () => {
    const out = tmp();
    const started = performance.now();
    const { metrics } = await train(
      createReferenceBackend({ precision: 'f32' }),
      loadModel(model),
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
    // 3 steps × 2 completions over 3 prompts
    expect(s).toMatchObject({ step: 3, epoch: 2, total_flos: fin.total_flos });
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
    expect(Math.abs(s.train_samples_per_second - 6 / s.train_runtime)).toBeLessThanOrEqual(
      rateSlack(6, s.train_runtime),
    );
  });

  it('a resumed run: the summary averages every logged step, its rates count the steps it ran', async () => {
    const out = tmp();
    const objective = await resolveObjective('token-entropy');
    const run = (over: Partial<TrainerSettings>, dir = model) =>
      train(
        createReferenceBackend({ precision: 'f32' }),
        loadModel(dir),
        objective,
        { kind: 'sample', prompts },
        settings(out, over),
      );
    const first = await run({ steps: 3 });
    const ck = join(out, 'step_1');
    const resumed = await run(
      { steps: 3, resume: loadCheckpointState(ck, loadModel(ck).config) },
      ck,
    );
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
