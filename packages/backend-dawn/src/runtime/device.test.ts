import { describe, expect, it } from 'vitest';
import { createDawnBackend } from '../dawn-backend.js';
import { useDawn } from '../testing/harness.js';
import { describeDawnAdapters, missingDriverMessage, SUBGROUP_MATRIX_FEATURE } from './device.js';

describe('Dawn adapter selection and limits', () => {
  const h = useDawn();

  it('reports the adapters for `oneshot-em doctor`', async (ctx) => {
    const d = h.dawn(ctx);
    const adapters = await describeDawnAdapters();
    expect(adapters.length).toBeGreaterThan(0);
    expect(adapters[0].index).toBe(0);
    expect(adapters[0].description.length).toBeGreaterThan(0);
    expect(adapters[0].limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(d.name).toBe(`dawn(${adapters[0].description} · ${adapters[0].api})`);
  });

  it('picks an adapter by index or name substring, and never falls back silently', async (ctx) => {
    h.dawn(ctx);
    const [first] = await describeDawnAdapters();
    const byName = await createDawnBackend({ device: first.description.slice(0, 8) });
    expect(byName.adapter.description).toBe(first.description);
    await byName.destroy();
    await expect(createDawnBackend({ device: 'no-such-gpu' })).rejects.toThrow(
      /no Dawn adapter matches device "no-such-gpu"; adapters:\n {2}\[0\]/,
    );
    await expect(createDawnBackend({ device: 42 })).rejects.toThrow(
      /Dawn device 42 does not exist/,
    );
  });

  it('names the limit when a buffer cannot fit', async (ctx) => {
    h.dawn(ctx);
    await expect(createDawnBackend({ requiredBufferBytes: 2 ** 50 })).rejects.toThrow(
      /cannot hold a 1125899906842624-byte buffer: its maxStorageBufferBindingSize is \d+ bytes/,
    );
  });

  it('enables subgroups and shader-f16 when the adapter has them, unless disabled', async (ctx) => {
    const d = h.dawn(ctx);
    const [first] = await describeDawnAdapters();
    expect(d.features).toMatchObject({
      subgroups: first.features.includes('subgroups'),
      f16: first.features.includes('shader-f16'),
    });
    // subgroup matrices also need an f16 → f32 config (kernels/matmul/subgroup-matrix.test.ts)
    if (!first.features.includes(SUBGROUP_MATRIX_FEATURE))
      expect(d.features.subgroupMatrix).toBe(false);
    // the f16 subgroup-matrix kernel goes with shader-f16
    const without = await createDawnBackend({ disableSubgroups: true, disableF16: true });
    expect(without.features).toEqual({ subgroups: false, f16: false, subgroupMatrix: false });
    await without.destroy();
  });

  it('the missing-driver message says which library is missing and how to install it', () => {
    const message = missingDriverMessage('requestAdapter() returned no adapter');
    expect(message).toMatch(/no usable GPU adapter: requestAdapter\(\) returned no adapter/);
    expect(message).toMatch(/libvulkan1/);
    expect(message).toMatch(/mesa-vulkan-drivers/);
    expect(message).toMatch(/bookworm-backports/);
    expect(message).toMatch(/XDG_RUNTIME_DIR/);
  });
});
