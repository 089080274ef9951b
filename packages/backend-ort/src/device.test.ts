import { describe, expect, it } from 'vitest';
import { parseDevice } from './device.js';
import { createOrtBackend } from './ort-backend.js';

describe('--device for the ORT backend', () => {
  it('parses cpu, cuda and cuda:N', () => {
    expect(parseDevice('cpu')).toEqual({ kind: 'cpu', deviceId: 0 });
    expect(parseDevice('cuda')).toEqual({ kind: 'cuda', deviceId: 0 });
    expect(parseDevice('cuda:3')).toEqual({ kind: 'cuda', deviceId: 3 });
  });

  it('rejects anything else, naming what it expected', () => {
    for (const bad of ['gpu', 'cuda:', 'cuda:x', 'CPU', 'cuda:-1']) {
      expect(() => parseDevice(bad)).toThrow(/expected 'cpu', 'cuda' or 'cuda:N'/);
    }
  });

  it('names itself after its device', async () => {
    const b = await createOrtBackend({ device: 'cpu' });
    expect(b.name).toBe('ort(cpu)');
    expect(b.kind).toBe('ort');
    await b.destroy();
  });

  it('cuda: starts where the CUDA EP loads, else fails saying how to install it', async () => {
    // Both outcomes are asserted: CI (no provider libraries) checks the message, a GPU machine
    // with the CUDA EP installed checks that the backend starts and names the GPU.
    let started: Awaited<ReturnType<typeof createOrtBackend>> | null = null;
    let message = '';
    try {
      started = await createOrtBackend({ device: 'cuda:0' });
    } catch (e) {
      message = (e as Error).message;
    }
    if (started) {
      expect(started.name).toBe('ort(cuda:0)');
      await started.destroy();
    } else {
      expect(message).toMatch(/CUDA execution provider for cuda:0 could not start/);
      expect(message).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
      expect(message).toMatch(/libonnxruntime_providers_cuda\.so/);
    }
  });

  it('a GPU memory limit it cannot pass to the CUDA EP is an error, not a silent no-op', async () => {
    await expect(createOrtBackend({ device: 'cuda', cudaMemoryLimit: 1 << 30 })).rejects.toThrow(
      /cudaMemoryLimit/,
    );
  });
});
