import { grid, type KernelDescriptor } from '../kernels/kernel.js';
import type { BufferPool, MemoryMeter } from './buffers.js';
import type { DawnDevice } from './device.js';
import type { PipelineCache } from './pipelines.js';

/** Bytes per uniform slot: WebGPU's minUniformBufferOffsetAlignment. */
const SLOT = 256;
const SLOTS = 2048;

/** What the queue has recorded and submitted since it was created (tools/bench reports them per token). */
export interface CommandCounters {
  dispatches: number;
  /** `queue.submit` calls */
  submits: number;
  /** compute passes begun (a copy or clear between dispatches ends one) */
  passes: number;
  /** buffer-to-buffer copies and clears */
  copies: number;
  /** bind groups created (the rest came from the cache) */
  bindGroups: number;
  /** staging buffers mapped back to the host */
  readbacks: number;
  /** host milliseconds spent recording decode steps (generate.ts reports them) */
  decodeRecordMs: number;
}

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
  /** The pipeline set on the open pass (a repeated kernel skips setPipeline). */
  #lastPipeline: GPUComputePipeline | null = null;
  #errors: Promise<GPUError | null>[] = [];
  readonly #pipelineMemo = new WeakMap<KernelDescriptor, Map<string, GPUComputePipeline>>();
  /** Per uniform slot: the last bind group recorded there and what it binds. */
  readonly #bindGroups: (
    | {
        pipeline: GPUComputePipeline;
        refs: (GPUBuffer | number | undefined)[];
        group: GPUBindGroup;
      }
    | undefined
  )[] = [];
  readonly #counters: CommandCounters = {
    dispatches: 0,
    submits: 0,
    passes: 0,
    copies: 0,
    bindGroups: 0,
    readbacks: 0,
    decodeRecordMs: 0,
  };
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
    this.#lastPipeline = null;
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
    const pipeline = this.#pipeline(kernel, constants);
    const view = new DataView(this.#staging, this.#slot * SLOT, SLOT);
    kernel.params.forEach(([name, type], i) => {
      const v = params[name];
      if (v === undefined)
        throw new Error(`${kernel.family}/${kernel.entry}: parameter ${name} missing`);
      if (type === 'f32') view.setFloat32(i * 4, v, true);
      else if (type === 'i32') view.setInt32(i * 4, v, true);
      else view.setUint32(i * 4, v, true);
    });
    const bindGroup = this.#bindGroup(kernel, pipeline, buffers);
    this.#slot++;
    this.#counters.dispatches++;
    const encoder = this.#ensureEncoder();
    if (!this.#pass) {
      this.#pass = encoder.beginComputePass();
      this.#counters.passes++;
    }
    if (pipeline !== this.#lastPipeline) this.#pass.setPipeline(pipeline);
    this.#lastPipeline = pipeline;
    this.#pass.setBindGroup(0, bindGroup);
    const [x, y] = typeof workgroups === 'number' ? grid(workgroups) : workgroups;
    this.#pass.dispatchWorkgroups(x, y);
    if (this.debug) this.flush();
  }

  /**
   * The pipeline cache's pipeline for `kernel` with `constants`, memoised per kernel under the
   * constants as the caller lists them (the cache's own key sorts them: per dispatch, that is
   * host time a decode step spends hundreds of times).
   */
  #pipeline(kernel: KernelDescriptor, constants: Record<string, number>): GPUComputePipeline {
    let key = '';
    for (const k in constants) key += `${k}=${constants[k]},`;
    let byConstants = this.#pipelineMemo.get(kernel);
    if (!byConstants) {
      byConstants = new Map();
      this.#pipelineMemo.set(kernel, byConstants);
    }
    let pipeline = byConstants.get(key);
    if (!pipeline) {
      pipeline = this.#pipelines.get(kernel, { WG: kernel.workgroupSize, ...constants });
      byConstants.set(key, pipeline);
    }
    return pipeline;
  }

  /**
   * The bind group of one dispatch. A decode step records the same dispatches into the same
   * uniform slots over the same pooled buffers every token, so each slot keeps its last group
   * and reuses it when the pipeline and every bound range match: after the first token nearly
   * no dispatch calls `createBindGroup`.
   */
  #bindGroup(
    kernel: KernelDescriptor,
    pipeline: GPUComputePipeline,
    buffers: Record<string, GPUBuffer | GPUBufferBinding>,
  ): GPUBindGroup {
    const refs: (GPUBuffer | number | undefined)[] = [];
    for (const name in kernel.bindings) {
      const b = buffers[name];
      if (!b) throw new Error(`${kernel.family}/${kernel.entry}: buffer ${name} missing`);
      if ('buffer' in b) refs.push(b.buffer, b.offset ?? 0, b.size);
      else refs.push(b, 0, undefined);
    }
    const last = this.#bindGroups[this.#slot];
    if (last && last.pipeline === pipeline && last.refs.length === refs.length) {
      let same = true;
      for (let i = 0; i < refs.length && same; i++) same = last.refs[i] === refs[i];
      if (same) return last.group;
    }
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.#uniforms, offset: this.#slot * SLOT, size: SLOT } },
    ];
    for (const [name, binding] of Object.entries(kernel.bindings)) {
      const b = buffers[name];
      entries.push({ binding, resource: 'buffer' in b ? b : { buffer: b } });
    }
    const group = this.#dev.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    this.#counters.bindGroups++;
    this.#bindGroups[this.#slot] = { pipeline, refs, group };
    return group;
  }

  /** Adds the host's time recording one decode step (counted, not measured, here). */
  recordedDecodeStep(ms: number): void {
    this.#counters.decodeRecordMs += ms;
  }

  /** Counts since the queue was created. */
  get counters(): CommandCounters {
    return { ...this.#counters };
  }

  clear(buffer: GPUBuffer, bytes: number): void {
    this.#counters.copies++;
    this.#endPass();
    this.#ensureEncoder().clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.#counters.copies++;
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
    this.#counters.submits++;
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
    return this.#readback(buffer, bytes, offset, true);
  }

  /**
   * Like `read`, but the copy is submitted now and mapped while later work is recorded: the
   * caller awaits the promise when it needs the data (a decode loop checks its done flags
   * a few steps late instead of draining the GPU). Validation errors surface at the next
   * `read` or `sync`.
   */
  readLater(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    return this.#readback(buffer, bytes, offset, false);
  }

  async #readback(
    buffer: GPUBuffer,
    bytes: number,
    offset: number,
    check: boolean,
  ): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.#dev.device.createBuffer({
      size,
      usage: this.#dev.usage.mapRead | this.#dev.usage.copyDst,
    });
    this.#meter.allocated(size);
    this.#counters.readbacks++;
    try {
      this.copy(buffer, offset, staging, 0, size);
      this.flush();
      if (check) await this.#checkErrors();
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
    this.#bindGroups.length = 0;
    this.#endPass();
    this.#encoder = null;
    this.#uniforms.destroy();
    this.#meter.freed(SLOT * SLOTS);
  }
}
