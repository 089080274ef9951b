/** What stderr-child.ts writes, and stderr-filter.test.ts expects back. */
export const DAWN_UNIFORM =
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';
export const DAWN_STORAGE =
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 4294967295 to 16 to fit dynamic offset allocation limit.';

/** What the child writes to stderr in 'mixed', one write (and one pipe chunk) each. */
export const MIXED_WRITES = [
  'before\n',
  `${DAWN_UNIFORM}\n`,
  'par',
  'tial\n',
  `${DAWN_STORAGE}\r\n`,
  '\r\x1b[2K█░ step 1/2',
  '\r\x1b[2K██ step 2/2',
  '\n',
  'Warn',
  `ing: maxDynamicStorage${DAWN_STORAGE.slice('Warning: maxDynamicStorage'.length)}\n`,
  `${DAWN_UNIFORM} (and more)\n`,
  ` ${DAWN_UNIFORM}\n`,
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from many\n',
  'ünïcode ✓\n',
  'no newline at the end',
];
