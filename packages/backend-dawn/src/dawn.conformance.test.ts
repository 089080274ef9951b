import { describeBackendConformance } from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { createDawnBackend, describeDawnAdapters } from './index.js';
import { isCi } from './testing/harness.js';

// Without an adapter: under CI=true the suite runs and fails with the missing-driver message
// (CI never skips); locally it is skipped with that message as the reason.
const missing = await describeDawnAdapters().then(
  () => null,
  (err: Error) => err.message,
);

if (missing && !isCi()) {
  describe('dawn: backend conformance', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
} else {
  describeBackendConformance('dawn', () => createDawnBackend());
  // The fallbacks (shared-memory reductions, no f16) must pass the same suite.
  describeBackendConformance('dawn without subgroups and shader-f16', () =>
    createDawnBackend({ disableSubgroups: true, disableF16: true }),
  );
}
