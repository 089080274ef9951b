import { describe, expect, it } from 'vitest';
import { createBackend } from './backends.js';

describe('createBackend --dtype', () => {
  it('bf16 / f16 compute copies are refused on ort and the reference, naming the flag', async () => {
    for (const name of ['ort', 'reference'] as const)
      for (const dtype of ['bf16', 'f16'] as const)
        await expect(createBackend(name, undefined, undefined, dtype)).rejects.toThrow(
          `--dtype ${dtype} is not yet on the ${name} backend`,
        );
  });
});
