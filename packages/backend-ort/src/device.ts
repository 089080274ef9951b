import type { InferenceSession } from 'onnxruntime-node';

/** `cpu`, `cuda` (= cuda:0) or `cuda:N` — the CLI's `--device`. */
export type OrtDevice = 'cpu' | 'cuda' | `cuda:${number}`;

export interface OrtDeviceSpec {
  kind: 'cpu' | 'cuda';
  deviceId: number;
}

export function parseDevice(device: string): OrtDeviceSpec {
  if (device === 'cpu') return { kind: 'cpu', deviceId: 0 };
  if (device === 'cuda') return { kind: 'cuda', deviceId: 0 };
  const m = /^cuda:(\d+)$/.exec(device);
  if (m) return { kind: 'cuda', deviceId: Number(m[1]) };
  throw new Error(
    `ort backend: device = '${device}'; expected 'cpu', 'cuda' or 'cuda:N' (N a GPU index)`,
  );
}

export function deviceName(spec: OrtDeviceSpec): string {
  return spec.kind === 'cpu' ? 'cpu' : `cuda:${spec.deviceId}`;
}

export function sessionOptions(spec: OrtDeviceSpec): InferenceSession.SessionOptions {
  const executionProviders: InferenceSession.ExecutionProviderConfig[] =
    spec.kind === 'cpu' ? ['cpu'] : [{ name: 'cuda', deviceId: spec.deviceId }];
  // No CPU arena: with it ONNX Runtime keeps the high-water mark of every run's activations and
  // outputs for the session's life (at 0.5B, gigabytes next to the host optimizer's state);
  // without it they are freed when the run ends. Measured in tools/bench/README.md.
  // No spin-waiting of the CPU thread pools: on a shared or oversubscribed machine a spinning
  // pool thread holds a core another thread (or process) needs; the training graphs are a few
  // thousand nodes dominated by large Gemms, so the wake-up latency costs little. Measured on the
  // shared 2-core CI machine (load 13), qwen2-25m EM step: 9.4 s → 5.8 s median (tools/bench
  // README). The same reason the torch baseline runs with OMP_WAIT_POLICY=PASSIVE.
  return {
    executionProviders,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    enableCpuMemArena: false,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** The message for a CUDA EP that would not load, with the two ways to install it. */
export function cudaUnavailableMessage(spec: OrtDeviceSpec, cause: unknown): string {
  const why = cause instanceof Error ? cause.message : String(cause);
  return [
    `ort backend: the CUDA execution provider for ${deviceName(spec)} could not start: ${why}`,
    'onnxruntime-node loads libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so',
    'from its bin/napi-v6/linux/x64 folder, plus CUDA 12 and cuDNN 9 from the system. To get them:',
    '  1. reinstall with the CUDA libraries: ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node',
    '     (or `npm rebuild onnxruntime-node` with that variable set), or',
    '  2. copy libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so from the',
    '     matching onnxruntime-gpu release next to onnxruntime_binding.node.',
    'Check the driver with nvidia-smi and that LD_LIBRARY_PATH reaches libcudart.so.12 and libcudnn.so.9;',
    'or run with --device cpu.',
  ].join('\n');
}
