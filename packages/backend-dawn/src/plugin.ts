import type { BackendPlugin } from '@oneshot-em/core';
import { createDawnBackend, type DawnBackendOptions } from './dawn-backend.js';
import { describeDawnAdapters } from './runtime/device.js';

/** The Dawn/WebGPU backend as the CLI and tools load it (see core's BackendPlugin). */
export const plugin: BackendPlugin = {
  name: 'dawn',
  create: (o) =>
    createDawnBackend({
      // `--device` is an adapter index or a substring of its name
      device:
        o.device === undefined ? undefined : /^\d+$/.test(o.device) ? Number(o.device) : o.device,
      requiredBufferBytes: o.requiredBufferBytes,
      dtype: o.dtype,
      baseDtype: o.baseDtype,
      // unchecked here: createDawnBackend validates its own options
      ...(o.extra as DawnBackendOptions | undefined),
    }),
  async diagnose() {
    try {
      const adapters = await describeDawnAdapters();
      return adapters.map((a) => ({
        name: `Dawn adapter ${a.index}`,
        ok: true,
        detail: `${a.description} · ${a.api}${a.isFallback ? ' · software' : ''} · features: ${a.features.filter((f) => /f16|subgroup/.test(f)).join(', ') || 'none of shader-f16/subgroups'} · maxStorageBufferBindingSize ${a.limits.maxStorageBufferBindingSize}`,
      }));
    } catch (e) {
      return [
        {
          name: 'Dawn backend',
          ok: false,
          detail: (e as Error).message,
          fix: 'bash tools/scripts/setup.sh',
        },
      ];
    }
  },
  devices: async () => (await describeDawnAdapters()).map((a) => ({ ...a })),
};
