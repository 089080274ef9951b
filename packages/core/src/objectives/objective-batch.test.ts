import { describe, expect, it } from 'vitest';
import {
  keyMask,
  completionLengths,
  completionMask,
  createObjectiveBatch,
  sequenceIds,
  teacherForcingMask,
} from './objective-batch.js';

describe('ObjectiveBatch masks', () => {
  // pad 0, EOS 1, P = 3. Sequence 0: prompt [_ 5 6], completion [7 1 0 0];
  // sequence 1: prompt [4 5 6], completion [8 9 7 3] (no EOS, full length).
  const ids = Int32Array.from([0, 5, 6, 7, 1, 0, 0, 4, 5, 6, 8, 9, 7, 3]);
  const batch = createObjectiveBatch({
    B: 2,
    T: 7,
    V: 10,
    ids,
    promptLength: 3,
    padId: 0,
    eosIds: [1],
  });

  it('targets are the next ids, pad at the last position', () => {
    expect(Array.from(batch.targets)).toEqual([5, 6, 7, 1, 0, 0, 0, 5, 6, 8, 9, 7, 3, 0]);
  });

  it('paper: t ≥ P and ids[t] ≠ pad; shifted: ids[t + 1] is a completion token', () => {
    expect(Array.from(completionMask(batch, 'paper'))).toEqual([
      0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1,
    ]);
    expect(Array.from(completionMask(batch, 'shifted'))).toEqual([
      0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0,
    ]);
    expect(Array.from(teacherForcingMask(batch))).toEqual([
      0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0,
    ]);
    expect(Array.from(keyMask(batch))).toEqual([0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(completionLengths(batch))).toEqual([2, 4]);
    expect(Array.from(sequenceIds(batch))).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('with EOS as pad the reference mask drops EOS, as the reference trainer does', () => {
    const eosPad = createObjectiveBatch({
      B: 2,
      T: 7,
      V: 10,
      ids,
      promptLength: 3,
      padId: 1,
      eosIds: [1],
    });
    // ids 0 is now an ordinary token; the EOS at (0, 4) is pad
    expect(Array.from(completionMask(eosPad, 'paper')).slice(0, 7)).toEqual([0, 0, 0, 1, 0, 1, 1]);
  });

  it('rejects inconsistent fields, naming them', () => {
    const base = { B: 2, T: 7, V: 10, ids, promptLength: 3, padId: 0, eosIds: [1] };
    expect(() => createObjectiveBatch({ ...base, T: 6 })).toThrow(
      /ids has 14 entries; expected B·T = 2·6/,
    );
    expect(() => createObjectiveBatch({ ...base, promptLength: 0 })).toThrow(/promptLength = 0/);
    expect(() => createObjectiveBatch({ ...base, V: 8 })).toThrow(
      /ids\[10\] = 8; expected \[0, V = 8\)/,
    );
    expect(() => createObjectiveBatch({ ...base, padId: 10 })).toThrow(/padId = 10/);
  });
});
