import { describe, expect, it } from 'vitest';
import { createBackend, loadBackend } from './backends.js';
import { runCli } from './test/run-cli.js';

describe('createBackend --dtype', () => {
  it('bf16 / f16 are refused on the reference and bf16 on ort, naming the flag', async () => {
    for (const dtype of ['bf16', 'f16'] as const)
      await expect(createBackend('reference', undefined, undefined, dtype)).rejects.toThrow(
        `--dtype ${dtype} is not on the reference backend`,
      );
    await expect(createBackend('ort', undefined, undefined, 'bf16')).rejects.toThrow(
      /--dtype bf16 is not supported by onnxruntime-node [\d.]+: it has no bfloat16 tensors/,
    );
  });

  it('ort --dtype f16 starts with an f16 compute copy', async () => {
    const b = await createBackend('ort', undefined, undefined, 'f16');
    try {
      expect(b.name).toBe('ort(cpu · f16 weights)');
    } finally {
      await b.destroy();
    }
  });
});

describe('backend registry', () => {
  it('loads a backend package by name and starts it through its plug-in', async () => {
    const plugin = await loadBackend('ort');
    expect(plugin.name).toBe('ort');
    const b = await createBackend('ort');
    try {
      expect(b.name).toMatch(/^ort/);
    } finally {
      await b.destroy();
    }
  });

  it('doctor lists every backend through its plug-in', () => {
    const r = runCli(['doctor', '--json']);
    const checks = JSON.parse(r.stdout) as { name: string; ok: boolean; detail: string }[];
    const byName = new Map(checks.map((c) => [c.name, c]));
    expect(byName.get('onnxruntime-node')?.ok).toBe(true);
    expect(byName.get('ORT backend')).toMatchObject({ ok: true });
    // Dawn's plug-in reports each adapter (lavapipe in CI), or why there is none
    expect(checks.some((c) => /^Dawn (adapter \d+|backend)$/.test(c.name))).toBe(true);
    expect(checks.some((c) => c.name.startsWith('backend '))).toBe(false);
  });
});
