import { describe, expect, it } from 'vitest';
import { fuzzSeed, isClearError, mutateBytes, mutateJson, rng } from '../io/fuzz.js';
import { parseRolloutLine, RolloutsError } from './rollouts.js';

const CASES = 1000;
const CASE_MS = 100;
const FILE = 'r.jsonl';
const VOCAB = 512;

const lines = [
  { prompt_ids: [1, 403, 407], completion_ids: [261, 378, 29, 2] },
  { prompt: 'Once upon a time', completion: ' there was a cat.' },
];

/** A line parses to well-formed ids/text, or fails with a RolloutsError naming file and line. */
function check(text: string, c: number): void {
  const start = performance.now();
  try {
    const row = parseRolloutLine(text, FILE, 5, { vocabSize: VOCAB });
    if (row.kind === 'ids') {
      for (const ids of [row.promptIds, row.completionIds]) {
        expect(ids.length, `case ${c}`).toBeGreaterThan(0);
        expect(
          ids.every((id) => Number.isInteger(id) && id >= 0 && id < VOCAB),
          `case ${c}`,
        ).toBe(true);
      }
    } else {
      expect(typeof row.prompt === 'string' && row.completion.length > 0, `case ${c}`).toBe(true);
    }
  } catch (e) {
    if (!(e instanceof RolloutsError) || !isClearError(e, `${FILE}:5: `))
      throw new Error(`case ${c}: not a clear error: ${(e as Error)?.stack ?? e}`);
  }
  expect(performance.now() - start, `case ${c}`).toBeLessThan(CASE_MS);
}

describe('rollouts JSONL fuzz', () => {
  it(`${CASES} JSON-level and ${CASES} byte-level mutations of valid lines`, () => {
    const r = rng(fuzzSeed(99));
    for (let c = 0; c < CASES; c++) check(JSON.stringify(mutateJson(r, lines[c % 2])), c);
    const decoder = new TextDecoder();
    for (let c = 0; c < CASES; c++) {
      const bytes = new TextEncoder().encode(JSON.stringify(lines[c % 2]));
      check(decoder.decode(mutateBytes(r, bytes)), CASES + c);
    }
  });
});
