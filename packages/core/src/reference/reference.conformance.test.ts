import { describeBackendConformance } from '../testing/conformance.js';
import { createReferenceBackend } from './reference-backend.js';

// The suite on the reference itself: f32 storage against the f64 oracle, with the tolerances
// every backend meets.
describeBackendConformance('reference(f32)', async () =>
  createReferenceBackend({ precision: 'f32' }),
);

// f64 against f64 makes the forward checks exact; what this run adds is every backward
// against finite differences at a tolerance only double precision meets.
describeBackendConformance(
  'reference(f64)',
  async () => createReferenceBackend({ precision: 'f64' }),
  {
    tolerances: {
      primitive: { abs: 1e-12, rel: 1e-12 },
      backward: { abs: 1e-12, rel: 1e-12 },
      finiteDifference: { abs: 1e-8, rel: 1e-7 },
      finiteDifferenceStep: 1e-5,
      logitsMaxAbs: 1e-12,
      gradientRel: 1e-12,
    },
  },
);
