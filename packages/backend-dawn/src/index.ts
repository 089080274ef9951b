// Public API of @oneshot-em/backend-dawn.
export { type DawnBackend, type DawnBackendOptions, createDawnBackend } from './dawn-backend.js';
export { type DawnAdapterInfo, describeDawnAdapters, missingDriverMessage } from './runtime/device.js';
