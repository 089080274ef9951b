import { parseDevice } from '../device.js';

/**
 * The device the test files run on: `ORT_TEST_DEVICE` (cpu, cuda, cuda:N), default cpu — CI
 * runs the CPU EP; a GPU machine reruns the same files with ORT_TEST_DEVICE=cuda.
 */
export function testDevice(): string {
  const device = process.env.ORT_TEST_DEVICE ?? 'cpu';
  parseDevice(device);
  return device;
}
