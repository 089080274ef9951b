// Public API of @oneshot-em/backend-dawn.
export {
  createDawnBackend,
  type DawnBackend,
  type DawnBackendOptions,
  resolveWeightDtype,
} from './dawn-backend.js';
export type { WeightDtype } from './kernels/weights.js';
export {
  type DawnAdapterInfo,
  describeDawnAdapters,
  missingDriverMessage,
} from './runtime/device.js';
