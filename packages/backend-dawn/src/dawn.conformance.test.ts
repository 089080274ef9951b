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
}
