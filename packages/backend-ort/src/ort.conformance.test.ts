import { describeBackendConformance } from '@oneshot-em/core/testing';
import { createOrtBackend } from './ort-backend.js';

// Core's conformance suite on the ONNX Runtime CPU EP (CI). Nothing is skipped.
describeBackendConformance('ort(cpu)', () => createOrtBackend({ device: 'cpu' }));
