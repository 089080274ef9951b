import type { KernelDescriptor } from '../kernels/kernel.js';

/** Compute pipelines cached by a deterministic key: kernel name, entry point, override constants. */
export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #modules = new Map<string, GPUShaderModule>();
  readonly #pipelines = new Map<string, GPUComputePipeline>();

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  static key(kernel: KernelDescriptor, constants: Record<string, number>): string {
    const c = Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`)
      .join(',');
    return `${kernel.family}/${kernel.entry}{${c}}`;
  }

  get(kernel: KernelDescriptor, constants: Record<string, number>): GPUComputePipeline {
    const key = PipelineCache.key(kernel, constants);
    let pipeline = this.#pipelines.get(key);
    if (pipeline) return pipeline;
    let module = this.#modules.get(kernel.family);
    if (!module) {
      module = this.#device.createShaderModule({ label: kernel.family, code: kernel.source });
      this.#modules.set(kernel.family, module);
    }
    pipeline = this.#device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: kernel.entry, constants },
    });
    this.#pipelines.set(key, pipeline);
    return pipeline;
  }
}
