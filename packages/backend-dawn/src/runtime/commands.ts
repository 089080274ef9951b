import { grid, type KernelDescriptor } from '../kernels/kernel.js';
import type { BufferPool, MemoryMeter } from './buffers.js';
import type { DawnDevice } from './device.js';
import type { PipelineCache } from './pipelines.js';

/** Bytes per uniform slot: WebGPU's minUniformBufferOffsetAlignment. */
const SLOT = 256;
const SLOTS = 2048;

/**
 * Records work into one command encoder (one open compute pass while dispatches follow each
 * other) and submits it only when data must come back (`read`, `sync`) or the uniform ring is
 * full. Each dispatch's parameters go to its own 256-byte slot of a uniform ring that is
 * written with one `writeBuffer` per submit.
 */
export class CommandQueue {
  readonly #dev: DawnDevice;
  readonly #pipelines: PipelineCache;
  readonly #pool: BufferPool;
  readonly #meter: MemoryMeter;
  readonly #uniforms: GPUBuffer;
  readonly #staging = new ArrayBuffer(SLOT * SLOTS);
  #slot = 0;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #errors: Promise<GPUError | null>[] = [];
  /** Validate after every dispatch (slow; for debugging a kernel). */
  readonly debug: boolean;

  constructor(
    dev: DawnDevice,
    pipelines: PipelineCache,
    pool: BufferPool,
    meter: MemoryMeter,
    debug = false,
  ) {
    this.#dev = dev;
    this.#pipelines = pipelines;
    this.#pool = pool;
    this.#meter = meter;
    this.debug = debug;
    this.#uniforms = dev.device.createBuffer({
      size: SLOT * SLOTS,
      usage: dev.usage.uniform | dev.usage.copyDst,
    });
    meter.allocated(SLOT * SLOTS);
  }

  #ensureEncoder(): GPUCommandEncoder {
    if (!this.#encoder) {
      this.#dev.device.pushErrorScope('validation');
      this.#encoder = this.#dev.device.createCommandEncoder();
    }
    return this.#encoder;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  /**
   * Enqueues one dispatch. `workgroups` is a count (spilled into y past 65,535; the kernel
   * linearises) or an explicit [x, y]. A binding is a whole buffer or a range of one (a
   * piece of a split tensor: runtime/segments.ts).
   */
  dispatch(
    kernel: KernelDescriptor,
    params: Record<string, number>,
    buffers: Record<string, GPUBuffer | GPUBufferBinding>,
    workgroups: number | [number, number],
    constants: Record<string, number> = {},
  ): void {
    if (this.#slot === SLOTS) this.flush();
    const c = { WG: kernel.workgroupSize, ...constants };
    const pipeline = this.#pipelines.get(kernel, c);
    const view = new DataView(this.#staging, this.#slot * SLOT, SLOT);
    kernel.params.forEach(([name, type], i) => {
      const v = params[name];
      if (v === undefined)
        throw new Error(`${kernel.family}/${kernel.entry}: parameter ${name} missing`);
      if (type === 'f32') view.setFloat32(i * 4, v, true);
      else if (type === 'i32') view.setInt32(i * 4, v, true);
      else view.setUint32(i * 4, v, true);
    });
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.#uniforms, offset: this.#slot * SLOT, size: SLOT } },
    ];
    for (const [name, binding] of Object.entries(kernel.bindings)) {
      const buffer = buffers[name];
      if (!buffer) throw new Error(`${kernel.family}/${kernel.entry}: buffer ${name} missing`);
      entries.push({ binding, resource: 'buffer' in buffer ? buffer : { buffer } });
    }
    this.#slot++;
    const bindGroup = this.#dev.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const encoder = this.#ensureEncoder();
    this.#pass ??= encoder.beginComputePass();
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, bindGroup);
    const [x, y] = typeof workgroups === 'number' ? grid(workgroups) : workgroups;
    this.#pass.dispatchWorkgroups(x, y);
    if (this.debug) this.flush();
  }

  clear(buffer: GPUBuffer, bytes: number): void {
    this.#endPass();
    this.#ensureEncoder().clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.#endPass();
    this.#ensureEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.#encoder) return;
    this.#endPass();
    if (this.#slot > 0)
      this.#dev.device.queue.writeBuffer(this.#uniforms, 0, this.#staging, 0, this.#slot * SLOT);
    this.#dev.device.queue.submit([this.#encoder.finish()]);
    this.#errors.push(this.#dev.device.popErrorScope());
    this.#encoder = null;
    this.#slot = 0;
    this.#pool.submitted();
  }

  async #checkErrors(): Promise<void> {
    const pending = this.#errors;
    this.#errors = [];
    for (const e of await Promise.all(pending)) {
      if (e) throw new Error(`Dawn validation error: ${e.message}`);
    }
  }

  /** Copies `bytes` of `buffer` from `offset` back to the host (submits pending work first). */
  async read(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.#dev.device.createBuffer({
      size,
      usage: this.#dev.usage.mapRead | this.#dev.usage.copyDst,
    });
    this.#meter.allocated(size);
    try {
      this.copy(buffer, offset, staging, 0, size);
      this.flush();
      await this.#checkErrors();
      await staging.mapAsync(this.#dev.mapRead);
      const out = staging.getMappedRange().slice(0, bytes);
      staging.unmap();
      return out;
    } finally {
      staging.destroy();
      this.#meter.freed(size);
    }
  }

  async sync(): Promise<void> {
    this.flush();
    await this.#dev.device.queue.onSubmittedWorkDone();
    await this.#checkErrors();
  }

  destroy(): void {
    this.#endPass();
    this.#encoder = null;
    this.#uniforms.destroy();
    this.#meter.freed(SLOT * SLOTS);
  }
}
