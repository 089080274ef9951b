#!/usr/bin/env node
// The `oneshot-em` command. Installed from the npm package it runs the built JavaScript in
// dist/. In a checkout (src/ is there; the package ships without it) it runs the TypeScript
// sources through tsx, resolving the workspace packages to their sources too (the
// "oneshot-em-source" export condition), so nothing needs building first.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const source = new URL('../src/main.ts', import.meta.url);
if (existsSync(source)) {
  register(
    `data:text/javascript,${encodeURIComponent(
      "export const resolve = (s, c, next) => next(s, { ...c, conditions: [...c.conditions, 'oneshot-em-source'] });",
    )}`,
  );
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  await import(source.href);
} else {
  await import('../dist/main.js');
}
