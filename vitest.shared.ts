import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * The one vitest configuration of the workspace's packages and tools; each vitest.config.ts says
 * only which test files are its own.
 *
 * The workspace packages resolve to their TypeScript sources through the "oneshot-em-source"
 * export condition, which no consumer of the published packages sets: in vitest through
 * `ssr.resolve`, in the Node processes the tests start (the CLI, bench scripts) through
 * NODE_OPTIONS. Model loads, GPU pipelines and child CLIs take longer than vitest's 5 s default.
 */
export function workspaceTestConfig(files: { include: string[]; exclude?: string[] }) {
  return defineConfig({
    ssr: { resolve: { conditions: ['oneshot-em-source', ...defaultServerConditions] } },
    test: {
      ...files,
      testTimeout: 120_000,
      hookTimeout: 120_000,
      env: {
        NODE_OPTIONS: `--conditions=oneshot-em-source ${process.env.NODE_OPTIONS ?? ''}`.trim(),
      },
    },
  });
}
