import { describe, expect, it } from 'vitest';
import { buildBatch } from './batch.js';

describe('buildBatch', () => {
  it('left-pads prompts, right-pads completions, masks pad like the reference', () => {
    const b = buildBatch(
      [
        [1, 5],
        [1, 6, 7],
      ],
      [[8, 2], [9]],
      2,
    );
    expect(b.T).toBe(5);
    expect(b.promptLength).toBe(3);
    expect([...b.ids]).toEqual([2, 1, 5, 8, 2, 1, 6, 7, 9, 2]);
    expect([...b.keyMask]).toEqual([0, 1, 1, 1, 0, 1, 1, 1, 1, 0]);
    expect([...b.positions]).toEqual([0, 0, 1, 2, 2, 0, 1, 2, 3, 3]);
  });
});
