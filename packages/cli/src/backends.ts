import type { Backend, ModelConfig } from '@oneshot-em/core';
import { UserError } from './errors.js';

export type BackendName = 'ort' | 'dawn' | 'reference';

/**
 * The only place that turns a backend name into a running backend. Backends load lazily, so a
 * machine without one native library still runs the other.
 */
/**
 * The largest single buffer a run of this model allocates: the embedding/head table, an MLP
 * matrix, or a chunk of logits (core's head works on 256 tokens at a time). Dawn checks it
 * against the adapter's limits at start-up, so a model that does not fit fails at once.
 */
export function largestBufferBytes(config: ModelConfig): number {
  const { vocabSize: V, hiddenSize: C, intermediateSize: F } = config;
  return 4 * Math.max(V * C, F * C, 256 * V);
}

/** `--dtype`: the compute copy of the weights on the device (f32 master weights stay). */
export type ComputeDtype = 'auto' | 'f32' | 'bf16' | 'f16';

export async function createBackend(
  name: BackendName,
  device?: string,
  config?: ModelConfig,
  dtype: ComputeDtype = 'auto',
): Promise<Backend> {
  if (name !== 'dawn' && (dtype === 'bf16' || dtype === 'f16'))
    throw new UserError(
      `--dtype ${dtype} is not yet on the ${name} backend (only on dawn); use --dtype auto or f32`,
    );
  switch (name) {
    case 'ort': {
      const mod = await importBackend('@oneshot-em/backend-ort', 'onnxruntime-node');
      return mod.createOrtBackend({ device: (device ?? 'cpu') as 'cpu' });
    }
    case 'dawn': {
      const mod = await importBackend('@oneshot-em/backend-dawn', 'webgpu');
      const d = device === undefined ? undefined : /^\d+$/.test(device) ? Number(device) : device;
      return mod.createDawnBackend({
        device: d,
        requiredBufferBytes: config ? largestBufferBytes(config) : undefined,
        dtype,
        baseDtype: config ? BASE_DTYPE[config.torchDtype] : undefined,
      });
    }
    case 'reference': {
      const core = await import('@oneshot-em/core');
      return core.createReferenceBackend({ precision: 'f32' });
    }
    default:
      throw new UserError(`unknown backend '${name as string}' (expected ort, dawn or reference)`);
  }
}

/** config.json's torch_dtype as `--dtype auto` reads it (bf16 base → bf16 on a GPU). */
const BASE_DTYPE: Record<ModelConfig['torchDtype'], 'f32' | 'bf16' | 'f16'> = {
  float32: 'f32',
  bfloat16: 'bf16',
  float16: 'f16',
};

async function importBackend(pkg: string, native: string) {
  try {
    // biome-ignore lint/suspicious/noExplicitAny: the backend packages are optional dependencies
    return (await import(pkg)) as any;
  } catch (e) {
    throw new UserError(
      `cannot load ${pkg} (${(e as Error).message}). It needs the npm package '${native}': run ` +
        '`bash tools/scripts/setup.sh` (or `ONNXRUNTIME_NODE_INSTALL=skip npm ci`), then `oneshot-em doctor`.',
    );
  }
}
