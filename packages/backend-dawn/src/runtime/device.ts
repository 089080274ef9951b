/**
 * Adapter discovery and device creation. Dawn is loaded lazily so that a machine without
 * Vulkan can still import this package (and be told what is missing).
 */
import { existsSync } from 'node:fs';

export interface DawnAdapterInfo {
  index: number;
  /** e.g. `llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)` or `NVIDIA H100 80GB HBM3` */
  description: string;
  vendor: string;
  architecture: string;
  /** `vulkan`, `metal` or `d3d12` (the native API Dawn uses on this platform) */
  api: string;
  /** A software rasteriser (lavapipe, SwiftShader) rather than a GPU. */
  isFallback: boolean;
  features: string[];
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
  };
}

export interface DawnDeviceOptions {
  /** Adapter index (from `describeDawnAdapters`) or a substring of its description. */
  device?: number | string;
  /** The largest single buffer the caller will allocate, in bytes (e.g. the embedding table). */
  requiredBufferBytes?: number;
  /** Ignore `shader-f16` even when present (fallback testing). */
  disableF16?: boolean;
  /** Ignore `subgroups` even when present (fallback testing). */
  disableSubgroups?: boolean;
  /**
   * Opt-in: start Dawn with EXPERIMENTAL_TOGGLES, so that an adapter may list Dawn's safe
   * experimental features (chromium-experimental-subgroup-matrix: the sgmat matmul). Off by
   * default: it also switches Vulkan shaders to the Vulkan memory model.
   */
  experimentalFeatures?: boolean;
}

/** The Dawn instance toggles of `experimentalFeatures`. */
export const EXPERIMENTAL_TOGGLES =
  'enable-dawn-features=expose_wgsl_experimental_features,use_vulkan_memory_model';

export interface DawnDevice {
  /**
   * The Dawn instance. It must stay reachable as long as the device: if it is garbage
   * collected, Dawn tears down the instance under the running device and the process
   * crashes (seen on lavapipe as futex/mutex aborts during mapAsync).
   */
  gpu: GPU;
  device: GPUDevice;
  adapter: DawnAdapterInfo;
  /** Features actually enabled on the device. */
  hasF16: boolean;
  hasSubgroups: boolean;
  /**
   * The f16 × f16 → f32 shape of `chromium-experimental-subgroup-matrix` (enabled with
   * shader-f16 when the adapter lists such a config), and the subgroup size bound the
   * workgroup's x size must be a multiple of; undefined without the feature.
   */
  subgroupMatrix?: SubgroupMatrixShape;
  /** Threads per workgroup and workgroup-memory bytes the device was created with. */
  workgroupLimits: { threads: number; storageBytes: number };
  /** GPUBufferUsage / GPUMapMode flag tables (Dawn's, not `globalThis`). */
  usage: { storage: number; uniform: number; copySrc: number; copyDst: number; mapRead: number };
  mapRead: number;
}

export interface SubgroupMatrixShape {
  m: number;
  n: number;
  k: number;
  subgroupMaxSize: number;
}

/** The WebGPU feature of subgroup matrices (cooperative matrices; Dawn only, experimental). */
export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';

/** An f16-in, f32-out config from the adapter's `subgroupMatrixConfigs`, or undefined. */
export function subgroupMatrixShape(
  features: ReadonlySet<string>,
  info: {
    subgroupMaxSize?: number;
    subgroupMatrixConfigs?: readonly {
      componentType: string;
      resultComponentType: string;
      M: number;
      N: number;
      K: number;
    }[];
  },
): SubgroupMatrixShape | undefined {
  if (!features.has(SUBGROUP_MATRIX_FEATURE) || !features.has('shader-f16')) return undefined;
  const c = (info.subgroupMatrixConfigs ?? []).find(
    (x) => x.componentType === 'f16' && x.resultComponentType === 'f32',
  );
  if (!c || !info.subgroupMaxSize) return undefined;
  return { m: c.M, n: c.N, k: c.K, subgroupMaxSize: info.subgroupMaxSize };
}

/** The message for "no adapter": which library is missing and how to install it. */
export function missingDriverMessage(detail: string): string {
  const loader = [
    '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
    '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
    '/usr/lib/libvulkan.so.1',
  ].some((p) => existsSync(p));
  const lines = [
    `Dawn (WebGPU) found no usable GPU adapter: ${detail}.`,
    loader
      ? 'The Vulkan loader (libvulkan1) is installed, so the Vulkan driver (ICD) is missing or too old.'
      : 'The Vulkan loader libvulkan.so.1 (Debian/Ubuntu package libvulkan1) was not found.',
    'Install a GPU driver with Vulkan support, or for a CPU-only machine Mesa lavapipe:',
    '  Debian bookworm: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1   (Mesa >= 23 is needed; bookworm itself ships 22)',
    '  Ubuntu 24.04+:   apt-get install mesa-vulkan-drivers libvulkan1',
    'and set XDG_RUNTIME_DIR (e.g. export XDG_RUNTIME_DIR=/tmp/xdg && mkdir -p $XDG_RUNTIME_DIR).',
  ];
  if (!process.env.XDG_RUNTIME_DIR) lines.push('XDG_RUNTIME_DIR is currently unset.');
  return lines.join('\n');
}

function nativeApi(): string {
  if (process.platform === 'darwin') return 'metal';
  if (process.platform === 'win32') return 'd3d12';
  return 'vulkan';
}

type WebgpuModule = { create: (flags: string[]) => GPU; globals: Record<string, unknown> };

async function loadDawn(): Promise<WebgpuModule> {
  try {
    return (await import('webgpu')) as unknown as WebgpuModule;
  } catch (err) {
    throw new Error(
      missingDriverMessage(`the 'webgpu' package (Dawn) failed to load: ${(err as Error).message}`),
    );
  }
}

function describe(adapter: GPUAdapter, index: number): DawnAdapterInfo {
  const info = adapter.info;
  const l = adapter.limits;
  return {
    index,
    description: info.description || info.device || info.architecture || 'unknown adapter',
    vendor: info.vendor,
    architecture: info.architecture,
    api: nativeApi(),
    isFallback: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    features: [...adapter.features].sort(),
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  };
}

/**
 * Every distinct adapter Dawn offers, discrete GPUs first. Dawn's Node binding exposes
 * adapters through power preferences only, so we ask for each and de-duplicate.
 */
async function enumerate(gpu: GPU): Promise<{ adapter: GPUAdapter; info: DawnAdapterInfo }[]> {
  const found: { adapter: GPUAdapter; info: DawnAdapterInfo }[] = [];
  const requests: GPURequestAdapterOptions[] = [
    { powerPreference: 'high-performance' },
    { powerPreference: 'low-power' },
    { forceFallbackAdapter: true },
  ];
  for (const options of requests) {
    const adapter = await gpu.requestAdapter(options).catch(() => null);
    if (!adapter) continue;
    const info = describe(adapter, found.length);
    if (found.some((f) => f.info.description === info.description && f.info.vendor === info.vendor))
      continue;
    found.push({ adapter, info });
  }
  // Prefer real GPUs over software fallbacks; keep the preference order otherwise.
  found.sort((a, b) => Number(a.info.isFallback) - Number(b.info.isFallback));
  found.forEach((f, i) => {
    f.info.index = i;
  });
  return found;
}

/** The adapter report for `oneshot-em doctor`. Throws the missing-driver message if there is none. */
export async function describeDawnAdapters(): Promise<DawnAdapterInfo[]> {
  const { create } = await loadDawn();
  const found = await enumerate(create([]));
  if (found.length === 0)
    throw new Error(missingDriverMessage('requestAdapter() returned no adapter'));
  return found.map((f) => f.info);
}

function pick(
  found: { adapter: GPUAdapter; info: DawnAdapterInfo }[],
  selector: number | string | undefined,
): { adapter: GPUAdapter; info: DawnAdapterInfo } {
  const list = found.map((f) => `  [${f.info.index}] ${f.info.description}`).join('\n');
  if (selector === undefined) return found[0];
  if (typeof selector === 'number') {
    const hit = found[selector];
    if (!hit) throw new Error(`Dawn device ${selector} does not exist; adapters:\n${list}`);
    return hit;
  }
  const needle = selector.toLowerCase();
  const hit = found.find((f) =>
    `${f.info.description} ${f.info.vendor} ${f.info.architecture}`.toLowerCase().includes(needle),
  );
  if (!hit) throw new Error(`no Dawn adapter matches device "${selector}"; adapters:\n${list}`);
  return hit;
}

/** Picks the adapter, checks limits, enables optional features, and creates the device. */
export async function openDawnDevice(options: DawnDeviceOptions = {}): Promise<DawnDevice> {
  const { create, globals } = await loadDawn();
  const gpu = create(options.experimentalFeatures ? [EXPERIMENTAL_TOGGLES] : []);
  const found = await enumerate(gpu);
  if (found.length === 0)
    throw new Error(missingDriverMessage('requestAdapter() returned no adapter'));
  const { adapter, info } = pick(found, options.device);
  const need = options.requiredBufferBytes ?? 0;
  const limits = adapter.limits;
  for (const name of ['maxStorageBufferBindingSize', 'maxBufferSize'] as const) {
    if (need > limits[name]) {
      throw new Error(
        `Dawn adapter "${info.description}" cannot hold a ${need}-byte buffer: its ${name} is ${limits[name]} bytes`,
      );
    }
  }
  // The kernels use at most 16 KiB of workgroup storage (WebGPU's guaranteed minimum).
  const workgroupStorage = 16384;
  if (limits.maxComputeWorkgroupStorageSize < workgroupStorage) {
    throw new Error(
      `Dawn adapter "${info.description}": maxComputeWorkgroupStorageSize is ${limits.maxComputeWorkgroupStorageSize}, the kernels need ${workgroupStorage}`,
    );
  }
  // attention's backward binds 9 storage buffers (WebGPU's default limit is 8).
  const storageBuffers = 9;
  if (limits.maxStorageBuffersPerShaderStage < storageBuffers) {
    throw new Error(
      `Dawn adapter "${info.description}": maxStorageBuffersPerShaderStage is ${limits.maxStorageBuffersPerShaderStage}, the kernels need ${storageBuffers}`,
    );
  }
  const hasF16 = !options.disableF16 && adapter.features.has('shader-f16');
  const hasSubgroups = !options.disableSubgroups && adapter.features.has('subgroups');
  const requiredFeatures: GPUFeatureName[] = [];
  if (hasF16) requiredFeatures.push('shader-f16');
  if (hasSubgroups) requiredFeatures.push('subgroups' as GPUFeatureName);
  const subgroupMatrix = hasF16
    ? subgroupMatrixShape(
        adapter.features as ReadonlySet<string>,
        adapter.info as Parameters<typeof subgroupMatrixShape>[1],
      )
    : undefined;
  if (subgroupMatrix) requiredFeatures.push(SUBGROUP_MATRIX_FEATURE as GPUFeatureName);
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: storageBuffers,
      // large workgroups for row reductions over few rows (kernels/vocab: vocabWorkgroup)
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    },
  });
  const u = globals.GPUBufferUsage as Record<string, number>;
  const m = globals.GPUMapMode as Record<string, number>;
  return {
    gpu,
    device,
    adapter: info,
    hasF16,
    hasSubgroups,
    ...(subgroupMatrix && { subgroupMatrix }),
    workgroupLimits: {
      threads: Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX),
      storageBytes: limits.maxComputeWorkgroupStorageSize,
    },
    usage: {
      storage: u.STORAGE,
      uniform: u.UNIFORM,
      copySrc: u.COPY_SRC,
      copyDst: u.COPY_DST,
      mapRead: u.MAP_READ,
    },
    mapRead: m.READ,
  };
}
