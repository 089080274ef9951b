// Public API of @oneshot-em/backend-dawn.
export { createDawnBackend, type DawnBackend, type DawnBackendOptions } from './dawn-backend.js';
export {
  type DawnAdapterInfo,
  describeDawnAdapters,
  missingDriverMessage,
} from './runtime/device.js';
