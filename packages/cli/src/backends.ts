import type { Backend, BackendPlugin, ModelConfig } from '@oneshot-em/core';
import {
  BackendLoadError,
  BackendNotInstalledError,
  type BackendPackageName,
  loadBackendPlugin,
} from '@oneshot-em/core/node';
import { UserError } from './errors.js';

export type BackendName = 'ort' | 'dawn' | 'reference';

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

/**
 * The only place in the CLI that turns a backend name into a running backend. The backend
 * packages are plug-ins (core's BackendPlugin) imported by name when asked for, so an
 * installation without one of them still runs the others, and says which package to install.
 */
export async function createBackend(
  name: BackendName,
  device?: string,
  config?: ModelConfig,
  dtype: ComputeDtype = 'auto',
): Promise<Backend> {
  // ORT refuses bf16 itself (onnxruntime-node has no bfloat16 tensors), naming the flag
  if (name === 'reference' && (dtype === 'bf16' || dtype === 'f16'))
    throw new UserError(
      `--dtype ${dtype} is not on the reference backend (f32 only); use --dtype auto or f32`,
    );
  if (name === 'reference') {
    const core = await import('@oneshot-em/core');
    return core.createReferenceBackend({ precision: 'f32' });
  }
  if (name !== 'ort' && name !== 'dawn')
    throw new UserError(`unknown backend '${name as string}' (expected ort, dawn or reference)`);
  const plugin = await loadBackend(name);
  return plugin.create({
    device,
    requiredBufferBytes: config ? largestBufferBytes(config) : undefined,
    dtype,
    baseDtype: config ? BASE_DTYPE[config.torchDtype] : undefined,
  });
}

/** config.json's torch_dtype as `--dtype auto` reads it (bf16 base → bf16 on a GPU). */
const BASE_DTYPE: Record<ModelConfig['torchDtype'], 'f32' | 'bf16' | 'f16'> = {
  float32: 'f32',
  bfloat16: 'bf16',
  float16: 'f16',
};

/** A backend package's plug-in; a package that is missing or does not load is a usage error. */
export async function loadBackend(name: BackendPackageName): Promise<BackendPlugin> {
  try {
    return await loadBackendPlugin(name);
  } catch (e) {
    if (e instanceof BackendNotInstalledError) throw new UserError(e.message);
    if (e instanceof BackendLoadError)
      throw new UserError(
        `${e.message}. Run \`bash tools/scripts/setup.sh\` (or \`ONNXRUNTIME_NODE_INSTALL=skip npm ci\`), then \`oneshot-em doctor\`.`,
      );
    throw e;
  }
}
