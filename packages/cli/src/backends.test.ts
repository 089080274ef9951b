import { describe, expect, it } from 'vitest';
import { createBackend, loadBackend } from './backends.js';
import { runCli } from './test/run-cli.js';

describe('createBackend --dtype', () => {
  it('bf16 / f16 compute copies are refused on ort and the reference, naming the flag', async () => {
    for (const name of ['ort', 'reference'] as const)
      for (const dtype of ['bf16', 'f16'] as const)
        await expect(createBackend(name, undefined, undefined, dtype)).rejects.toThrow(
          `--dtype ${dtype} is not yet on the ${name} backend`,
        );
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
