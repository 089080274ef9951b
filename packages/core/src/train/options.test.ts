import { describe, expect, it } from 'vitest';
import { parseTrainOptions } from './options.js';

describe('parseTrainOptions', () => {
  it('defaults reproduce the reference trainer', () => {
    const o = parseTrainOptions({}, {});
    expect(o).toMatchObject({
      steps: 10,
      lr: 2e-5,
      temperature: 0.5,
      lossTemperature: 0.5,
      topP: 0.95,
      repetitionPenalty: 1.15,
      maxNewTokens: 512,
      clip: 1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
      mask: 'paper',
    });
  });

  it('flags override the config file, whose keys are snake_case', () => {
    const o = parseTrainOptions({ effective_batch: 8, micro_batch: 2, lr: 1e-4 }, { lr: 3e-5 });
    expect(o.effectiveBatch).toBe(8);
    expect(o.microBatch).toBe(2);
    expect(o.lr).toBe(3e-5);
  });

  it('names the file and key of a bad value', () => {
    expect(() => parseTrainOptions({ effective_batch: -1 }, {}, 'run.yaml')).toThrow(
      /run\.yaml: effective_batch: /,
    );
    expect(() => parseTrainOptions({ learning_rate: 1 }, {}, 'run.yaml')).toThrow(
      /run\.yaml: unknown key\(s\) learning_rate/,
    );
    expect(() => parseTrainOptions({ 'effective-batch': 4 }, {}, 'run.json')).toThrow(/snake_case/);
    expect(() => parseTrainOptions({ effective_batch: 6, micro_batch: 4 }, {})).toThrow(/multiple/);
  });
  it('save_dtype defaults to auto and max_shard_size to 5GB; a bad size names the key', () => {
    expect(parseTrainOptions({}, {})).toMatchObject({ saveDtype: 'auto', maxShardSize: '5GB' });
    expect(parseTrainOptions({ max_shard_size: 1000 }, { saveDtype: 'bf16' })).toMatchObject({
      saveDtype: 'bf16',
      maxShardSize: 1000,
    });
    expect(() => parseTrainOptions({}, { maxShardSize: '5XB' }, 'flags')).toThrow(
      '--max-shard-size: expected a size such as 500MB, 5GB, 2GiB, 100KB',
    );
    expect(() => parseTrainOptions({ save_dtype: 'f64' }, {}, 'run.yaml')).toThrow(
      /run.yaml: save_dtype:/,
    );
  });

  it('lr schedule: constant by default; HF names in config files; constant with a warmup refused', () => {
    expect(parseTrainOptions({}, {})).toMatchObject({
      lrSchedulerType: 'constant',
      warmupSteps: 0,
      warmupRatio: 0,
    });
    expect(
      parseTrainOptions({ lr_scheduler_type: 'cosine', warmup_ratio: 0.1 }, { warmupSteps: 3 }),
    ).toMatchObject({ lrSchedulerType: 'cosine', warmupRatio: 0.1, warmupSteps: 3 });
    expect(() => parseTrainOptions({ lr_scheduler_type: 'polynomial' }, {}, 'run.yaml')).toThrow(
      /run\.yaml: lr_scheduler_type: /,
    );
    expect(() => parseTrainOptions({}, { warmupRatio: 1.5 })).toThrow(/--warmup-ratio: /);
    expect(() => parseTrainOptions({ warmup_steps: 5 }, {}, 'run.yaml')).toThrow(
      'run.yaml: lr_scheduler_type constant has no warmup (warmup_steps 5, warmup_ratio 0)',
    );
  });

  it('save_total_limit: unset keeps every checkpoint; a positive integer', () => {
    expect(parseTrainOptions({}, {}).saveTotalLimit).toBeUndefined();
    expect(parseTrainOptions({ save_total_limit: 2 }, {}).saveTotalLimit).toBe(2);
    expect(() => parseTrainOptions({}, { saveTotalLimit: 0 })).toThrow(/--save-total-limit: /);
  });
});
