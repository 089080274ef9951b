import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The fences of the architecture, as lint enforces them (eslint.config.mjs: Nx's module
 * boundaries over the tags in each package.json): core imports no backend and no native
 * runtime, a backend imports only core, the CLI only core (it loads backends by name through
 * core's registry), the tools core and backends. Each case lints a file as if it sat in that
 * package, so a rule that stopped applying fails here.
 */
const root = join(import.meta.dirname, '..');
let eslint: ESLint;

beforeAll(() => {
  // The rule reads Nx's cached project graph and skips itself silently when there is none.
  const r = spawnSync('npx', ['nx', 'show', 'projects'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
  });
  expect(r.status, r.stderr).toBe(0);
  eslint = new ESLint({ cwd: root });
});

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

const RULE = '@nx/enforce-module-boundaries';

describe('module boundaries (lint)', () => {
  it.each([
    ['packages/core/src/x.ts', "import { plugin } from '@oneshot-em/backend-ort';"],
    ['packages/core/src/x.ts', "import type { DawnBackend } from '@oneshot-em/backend-dawn';"],
    ['packages/core/src/x.ts', "import { create } from 'webgpu';"],
    ['packages/backend-ort/src/x.ts', "import { create } from 'webgpu';"],
    ['packages/core/src/x.ts', "import { main } from '@oneshot-em/cli';"],
    ['packages/backend-ort/src/x.ts', "import { plugin } from '@oneshot-em/backend-dawn';"],
    ['packages/backend-dawn/src/x.ts', "import { plugin } from '@oneshot-em/backend-ort';"],
    ['packages/backend-dawn/src/x.ts', "import '@oneshot-em/cli';"],
    ['packages/backend-dawn/src/x.ts', "import { Tensor } from 'onnx-proto';"],
    ['packages/cli/src/x.ts', "import { plugin } from '@oneshot-em/backend-dawn';"],
    ['packages/cli/src/x.ts', "import type { OrtBackend } from '@oneshot-em/backend-ort';"],
    ['packages/cli/src/x.ts', "export const m = () => import('@oneshot-em/backend-ort');"],
    ['packages/cli/src/x.ts', "import { x } from '../../core/src/index.js';"],
  ])('%s: %s is an error', async (file, code) => {
    const errors = await boundaryErrors(file, code);
    expect(errors.length, errors.join('\n')).toBe(1);
    expect(errors[0]).toMatch(RULE);
  });

  it.each([
    ['packages/backend-ort/src/x.ts', "import type { Backend } from '@oneshot-em/core';"],
    ['packages/cli/src/x.ts', "import { loadBackendPlugin } from '@oneshot-em/core/node';"],
    ['tools/bench/x.ts', "import type { DawnAdapterInfo } from '@oneshot-em/backend-dawn';"],
    ['packages/cli/src/x.ts', "import { Command } from 'commander';"],
  ])('%s: %s is allowed', async (file, code) => {
    expect(await boundaryErrors(file, code)).toEqual([]);
  });
});
