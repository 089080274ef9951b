import { workspaceTestConfig } from '../vitest.shared.js';

// files/ holds the generators' templates, whose tests run in the packages they generate
export default workspaceTestConfig({
  exclude: ['**/node_modules/**', '**/files/**'],
  include: ['**/*.test.ts'],
});
