import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkObjectiveGradient } from './gradient-check.js';
import { parseObjectiveSpec } from './objective-spec.js';
import { resolveObjective } from './resolve-objective.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('parseObjectiveSpec', () => {
  it('splits name and key=value parameters, keeping colons that belong to the source', () => {
    expect(parseObjectiveSpec('token-entropy')).toEqual({ source: 'token-entropy', params: {} });
    expect(parseObjectiveSpec('token-entropy:temperature=0.7,mask=shifted')).toEqual({
      source: 'token-entropy',
      params: { temperature: '0.7', mask: 'shifted' },
    });
    expect(parseObjectiveSpec('C:\\objs\\mine.ts:q=0.3')).toEqual({
      source: 'C:\\objs\\mine.ts',
      params: { q: '0.3' },
    });
    expect(parseObjectiveSpec('./mine.ts:')).toEqual({ source: './mine.ts', params: {} });
    expect(parseObjectiveSpec('nll:tokens').source).toBe('nll:tokens'); // no '=': part of the name
    expect(() => parseObjectiveSpec('nll:a=1,oops')).toThrow(/parameter 'oops' is not key=value/);
  });
});

describe('resolveObjective', () => {
  it('resolves a built-in, coercing string parameters and applying defaults', async () => {
    const r = await resolveObjective('token-entropy:temperature=0.7');
    expect(r.objective.name).toBe('token-entropy');
    expect(r.origin).toBe('builtin');
    expect(r.params).toEqual({ temperature: 0.7, mask: 'paper' });
  });

  it('merges config-file parameters, with the spec string taking precedence', async () => {
    const r = await resolveObjective('high-entropy-tokens:q=0.5', {
      params: { q: 0.1, temperature: 0.6 },
    });
    expect(r.params).toEqual({ q: 0.5, temperature: 0.6, mask: 'paper' });
  });

  it('an unknown name lists the available objectives', async () => {
    await expect(resolveObjective('token-entropi', { cwd: here })).rejects.toThrow(
      /unknown objective 'token-entropi'[\s\S]*token-entropy:[\s\S]*sequence-nll[\s\S]*self-certainty[\s\S]*high-entropy-tokens[\s\S]*nll/,
    );
  });

  it('a bad parameter shows the zod issue and the documented range', async () => {
    await expect(resolveObjective('token-entropy:temperature=-1')).rejects.toThrow(
      /objective 'token-entropy': parameter 'temperature' \(given "-1"\): Too small.*; temperature: softmax temperature T of the statistics, in \(0, 100\] \(default 0.5\)/,
    );
    await expect(resolveObjective('token-entropy:mask=left')).rejects.toThrow(
      /parameter 'mask'.*'paper'.*'shifted'/,
    );
    await expect(resolveObjective('nll:temprature=1')).rejects.toThrow(
      /unknown parameter 'temprature'; its parameters are:\n {2}temperature: .*\n {2}tokens: /,
    );
  });

  it('loads .ts and .js files relative to cwd', async () => {
    const ts = await resolveObjective('./fixtures/scaled-entropy.ts:factor=3', { cwd: here });
    expect(ts.objective.name).toBe('scaled-entropy');
    expect(ts.params).toEqual({ factor: 3 });
    expect(ts.origin).toBe(join(here, 'fixtures/scaled-entropy.ts'));
    checkObjectiveGradient(ts.objective, ts.params, { vocab: 10, tokens: 6 });
    const js = await resolveObjective(join(here, 'fixtures/plain-nll.js'));
    expect(js.objective.name).toBe('plain-nll');
    await expect(resolveObjective('./fixtures/missing.ts', { cwd: here })).rejects.toThrow(
      /objective file not found: .*missing\.ts/,
    );
    await expect(resolveObjective('./objective-spec.ts', { cwd: here })).rejects.toThrow(
      /default export is not an objective/,
    );
  });

  const project = mkdtempSync(join(tmpdir(), 'objective-package-'));
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('imports an npm package by name from cwd', async () => {
    const pkg = join(project, 'node_modules', '@someone', 'objective-neg-lse');
    mkdirSync(pkg, { recursive: true });
    const zod = pathToFileURL(createRequire(import.meta.url).resolve('zod')).href.replace(
      /index\.cjs$/,
      'index.js',
    );
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: '@someone/objective-neg-lse', type: 'module', exports: './index.js' }),
    );
    writeFileSync(
      join(pkg, 'index.js'),
      `import { z } from ${JSON.stringify(zod)};
export default {
  name: 'neg-lse', description: 'a package plugin', params: z.object({}),
  stats: () => ({ temperature: 1, stats: ['lse'] }),
  loss: (ctx) => ctx.ops.neg(ctx.ops.maskedMean(ctx.stat('lse'), ctx.completionMask('paper'))),
};
`,
    );
    const r = await resolveObjective('@someone/objective-neg-lse', { cwd: project });
    expect(r.objective.name).toBe('neg-lse');
    expect(r.origin).toBe('@someone/objective-neg-lse');
    await expect(resolveObjective('@someone/objective-none', { cwd: project })).rejects.toThrow(
      /unknown objective '@someone\/objective-none'/,
    );
  });
});

describe('spec strings and plain zod numbers', () => {
  it('name:k=v converts to the schema field type, so z.number() works without coerce', async () => {
    const { defineObjective, parseObjectiveParams } = await import('./objective.js');
    const { z } = await import('zod');
    const o = defineObjective({
      name: 'plain',
      description: 'test',
      params: z.object({ t: z.number().positive().default(1), on: z.boolean().default(false) }),
      stats: (p) => ({ temperature: p.t, stats: ['lse'] }),
      loss: (ctx) => ctx.ops.sum(ctx.stat('lse')),
    });
    expect(parseObjectiveParams(o, { t: '0.7', on: 'true' })).toEqual({ t: 0.7, on: true });
    expect(() => parseObjectiveParams(o, { t: 'hot' })).toThrow(/parameter 't'/);
  });
});
