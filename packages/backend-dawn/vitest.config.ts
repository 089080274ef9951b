import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// The workspace packages resolve to their TypeScript sources through the "oneshot-em-source"
// export condition, which no consumer of the published packages sets: in vitest through
// `ssr.resolve`, in the Node processes the tests start (the CLI, bench scripts) through
// NODE_OPTIONS.
const SOURCES = ['oneshot-em-source', ...defaultServerConditions];
const SOURCES_IN_CHILDREN = {
  NODE_OPTIONS: `--conditions=oneshot-em-source ${process.env.NODE_OPTIONS ?? ''}`.trim(),
};

export default defineConfig({
  ssr: { resolve: { conditions: SOURCES } },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: SOURCES_IN_CHILDREN,
  },
});
