import { describeBackendConformance } from '@oneshot-em/core/testing';
import { createOrtBackend } from './ort-backend.js';
import { testDevice } from './testing/device.js';

// Core's conformance suite on ONNX Runtime: the CPU EP in CI (nothing skipped), the CUDA EP
// with ORT_TEST_DEVICE=cuda on a GPU machine.
describeBackendConformance(`ort(${testDevice()})`, () =>
  createOrtBackend({ device: testDevice() }),
);
