import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BackendCheck, BackendPlugin } from '@oneshot-em/core';
import { createOrtBackend } from './ort-backend.js';

/** onnxruntime-node's version and the folder of its native binaries, as installed. */
function ortInstall(): { version: string; bin: string } {
  const require = createRequire(import.meta.url);
  let root = dirname(require.resolve('onnxruntime-node'));
  while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root);
  const ort = require('onnxruntime-node') as { env: { versions: { node: string } } };
  return {
    version: ort.env.versions.node,
    bin: join(root, 'bin', 'napi-v6', process.platform, process.arch),
  };
}

const CUDA_EP = 'libonnxruntime_providers_cuda.so';

/** The ONNX Runtime backend as the CLI and tools load it (see core's BackendPlugin). */
export const plugin: BackendPlugin = {
  name: 'ort',
  create: (o) =>
    createOrtBackend({ device: o.device ?? 'cpu', dtype: o.dtype, baseDtype: o.baseDtype }),
  async diagnose() {
    const out: BackendCheck[] = [];
    try {
      const { version, bin } = ortInstall();
      out.push({ name: 'onnxruntime-node', ok: true, detail: `${version} (${bin})` });
      const cuda = existsSync(join(bin, CUDA_EP));
      out.push({
        name: 'ORT CUDA execution provider',
        ok: cuda,
        optional: true,
        detail: cuda ? `${CUDA_EP} present` : 'not installed (the CPU EP works)',
        fix: cuda
          ? undefined
          : 'for NVIDIA GPUs: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node, or copy libonnxruntime_providers_{cuda,shared}.so next to onnxruntime_binding.node',
      });
      const b = await createOrtBackend({ device: 'cpu' });
      out.push({ name: 'ORT backend', ok: true, detail: `${b.name} starts` });
      await b.destroy();
    } catch (e) {
      out.push({
        name: 'ORT backend',
        ok: false,
        detail: (e as Error).message,
        fix: 'bash tools/scripts/setup.sh (or ONNXRUNTIME_NODE_INSTALL=skip npm ci)',
      });
    }
    return out;
  },
  async devices() {
    const { bin } = ortInstall();
    return [
      { device: 'cpu', available: true },
      { device: 'cuda', available: existsSync(join(bin, CUDA_EP)) },
    ];
  },
};
