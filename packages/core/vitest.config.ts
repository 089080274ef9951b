import { defineConfig } from 'vitest/config';

// Vitest resolves the workspace packages to their TypeScript sources (the "development" export
// condition); Node processes the tests start (the CLI, bench scripts) do the same through this.
const SOURCES_IN_CHILDREN = {
  NODE_OPTIONS: `--conditions=development ${process.env.NODE_OPTIONS ?? ''}`.trim(),
};

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: SOURCES_IN_CHILDREN,
  },
});
