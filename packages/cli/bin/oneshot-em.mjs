#!/usr/bin/env node
// The `oneshot-em` command. Installed from the npm package it runs the built JavaScript in
// dist/. In a checkout (src/ is there; the package ships without it) it runs the TypeScript
// sources through tsx, resolving the workspace packages to their sources too (the
// "oneshot-em-source" export condition), so nothing needs building first.
// The CLI runs in a child process whose stderr is filtered of Dawn's two start-up lines
// (src/stderr-filter.ts; ONESHOT_EM_DAWN_WARNINGS=1 runs it here, unfiltered).
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/main.ts', import.meta.url);
const fromSources = existsSync(source);
if (fromSources) {
  register(
    `data:text/javascript,${encodeURIComponent(
      "export const resolve = (s, c, next) => next(s, { ...c, conditions: [...c.conditions, 'oneshot-em-source'] });",
    )}`,
  );
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
}
const entry = (name) =>
  new URL(fromSources ? `../src/${name}.ts` : `../dist/${name}.js`, import.meta.url);
const { launchFiltered } = await import(entry('stderr-filter').href);
if (!launchFiltered(fileURLToPath(import.meta.url), process.argv.slice(2))) {
  await import(entry('main').href);
}
