// Public API of @oneshot-em/backend-ort.
export type { OrtDevice } from './device.js';
export { createOrtBackend, type OrtBackend, type OrtBackendOptions } from './ort-backend.js';
// what the CLI and tools load by package name (core's BackendPlugin)
export { plugin } from './plugin.js';
