import { describe, expect, it } from 'vitest';
import { openDawnDevice } from '../runtime/device.js';
import { kernels } from './index.js';

describe('kernel registry', () => {
  // The subgroup and f16 variants only where the device has the feature (lavapipe does).
  it('every entry point compiles into a pipeline', async () => {
    const dev = await openDawnDevice();
    const errors: string[] = [];
    for (const fam of Object.values(kernels)) {
      for (const k of Object.values(fam)) {
        if (k.requires === 'subgroups' && !dev.hasSubgroups) continue;
        if (k.requires === 'shader-f16' && !dev.hasF16) continue;
        dev.device.pushErrorScope('validation');
        const module = dev.device.createShaderModule({ code: k.source });
        dev.device.createComputePipeline({
          layout: 'auto',
          compute: { module, entryPoint: k.entry, constants: { WG: k.workgroupSize } },
        });
        const e = await dev.device.popErrorScope();
        if (e) errors.push(`${k.family}/${k.entry}: ${e.message}`);
      }
    }
    dev.device.destroy();
    expect(errors).toEqual([]);
  });
});
