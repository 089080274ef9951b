import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createObjectiveBatch } from './objective-batch.js';
import { evaluateObjective } from './objective.js';
import { resolveObjective } from './resolve-objective.js';

const objectiveUrl = pathToFileURL(join(import.meta.dirname, 'objective.ts')).href;

/** Writes a plugin whose stats or loss throws (or whose module does not load). */
function plugin(name: string, body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'oneshot-plugin-'));
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, body.replace('OBJECTIVE', objectiveUrl));
  return file;
}

const throwing = (where: 'stats' | 'loss') => `
import { z } from 'zod';
import { defineObjective } from 'OBJECTIVE';
export default defineObjective({
  name: 'broken-${where}',
  description: 'throws in ${where}',
  params: z.object({ k: z.coerce.number().int().min(1).default(1).describe('an integer ≥ 1') }),
  stats: () => { ${where === 'stats' ? "throw new Error('no stats today');" : ''} return { temperature: 1, stats: ['lse'] }; },
  loss: (ctx) => { ${where === 'loss' ? "throw new Error('division by zero');" : ''} return ctx.ops.maskedMean(ctx.stat('lse'), ctx.completionMask('paper')); },
});
`;

describe('plugin errors name the plugin file', () => {
  const batch = createObjectiveBatch({
    B: 1,
    T: 3,
    V: 4,
    ids: new Int32Array([1, 2, 3]),
    promptLength: 1,
    padId: 0,
    eosIds: [],
  });

  it('a loss or stats that throws during training', async () => {
    const lossFile = plugin('broken-loss', throwing('loss'));
    const r = await resolveObjective(lossFile);
    expect(() => evaluateObjective(r.objective, r.params, new Float64Array(3), batch)).toThrow(
      `objective broken-loss (${lossFile}): loss threw: division by zero`,
    );
    const statsFile = plugin('broken-stats', throwing('stats'));
    const s = await resolveObjective(statsFile);
    expect(() => evaluateObjective(s.objective, s.params, new Float64Array(3), batch)).toThrow(
      `objective broken-stats (${statsFile}): stats threw: no stats today`,
    );
  });

  it('a bad parameter and a module that does not load', async () => {
    const file = plugin('broken-loss', throwing('loss'));
    await expect(resolveObjective(`${file}:k=0`)).rejects.toThrow(
      new RegExp(`parameter 'k'.*\\(objective plugin ${file.replace(/[.]/g, '\\.')}\\)`, 's'),
    );
    const bad = plugin('syntax', 'export default {{{');
    await expect(resolveObjective(bad)).rejects.toThrow(
      `${bad}: the objective plugin failed to load:`,
    );
  });
});
