import { paramCount, paramSpecs } from '@oneshot-em/core';
import { describe, expect, it } from 'vitest';
import { QWEN2_SHAPES, qwen2Config, randomBenchWeights } from './models.js';

describe('bench models', () => {
  // Published totals (Hugging Face model cards / safetensors metadata: 0.5B and 1.5B tied, 7B
  // untied) and, for the 25M shape, PyTorch's count of the same architecture.
  it.each([
    ['qwen2.5-0.5b', 494_032_768],
    ['qwen2.5-1.5b', 1_543_714_304],
    ['qwen2.5-7b', 7_615_616_512],
    ['qwen2-25m', 39_993_856],
  ])('%s has the parameter count of the real architecture', (name, count) => {
    expect(paramCount(qwen2Config(QWEN2_SHAPES[name]))).toBe(count);
  });

  it('random weights fill every parameter: norms 1, matrices with std 1/sqrt(in)', () => {
    const config = qwen2Config({
      hiddenSize: 64,
      intermediateSize: 96,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      vocabSize: 300,
    });
    const w = randomBenchWeights(config, 3);
    for (const spec of paramSpecs(config)) {
      const v = w.get(spec.name);
      const n = spec.shape.reduce((a, b) => a * b, 1);
      expect(v?.length, spec.name).toBe(n);
      if (!v) continue;
      if (spec.name.endsWith('norm.weight')) expect(v.every((x) => x === 1)).toBe(true);
      if (spec.shape.length === 2) {
        const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / n);
        const want = 1 / Math.sqrt(spec.shape[1]);
        expect(Math.abs(std - want) / want, spec.name).toBeLessThan(0.1);
      }
    }
  });
});
