import { describeBackendConformance } from '@oneshot-em/core/testing';
import { createDawnBackend } from './index.js';

// Under CI=true a missing adapter fails here with the missing-driver message (the factory
// throws); locally too, since the suite has no skip path for a machine without Vulkan.
describeBackendConformance('dawn', () => createDawnBackend());
