// Public API of @oneshot-em/backend-dawn.
export {
  createDawnBackend,
  type DawnBackend,
  type DawnBackendOptions,
  resolveWeightDtype,
} from './dawn-backend.js';
export type { WeightDtype } from './kernels/weights.js';
// what the CLI and tools load by package name (core's BackendPlugin)
export { plugin } from './plugin.js';
export {
  type DawnAdapterInfo,
  describeDawnAdapters,
  missingDriverMessage,
} from './runtime/device.js';
