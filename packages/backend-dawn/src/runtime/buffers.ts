/**
 * A pool of storage buffers keyed by size. A disposed buffer may still be read by commands
 * that are encoded but not yet submitted, and `queue.writeBuffer` runs ahead of those
 * commands; so a released buffer only becomes reusable after the next submit.
 */
const ALIGN = 256;

export class BufferPool {
  readonly #device: GPUDevice;
  readonly #usage: number;
  readonly #free = new Map<number, GPUBuffer[]>();
  #pending: GPUBuffer[] = [];
  #live = 0;

  constructor(device: GPUDevice, usage: number) {
    this.#device = device;
    this.#usage = usage;
  }

  /** A buffer of at least `bytes` bytes (contents undefined). */
  acquire(bytes: number): GPUBuffer {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const reused = this.#free.get(size)?.pop();
    this.#live++;
    if (reused) return reused;
    return this.#device.createBuffer({ size, usage: this.#usage });
  }

  release(buffer: GPUBuffer): void {
    this.#live--;
    this.#pending.push(buffer);
  }

  /** Called after every submit: released buffers may now be handed out again. */
  submitted(): void {
    for (const b of this.#pending) {
      const list = this.#free.get(b.size);
      if (list) list.push(b);
      else this.#free.set(b.size, [b]);
    }
    this.#pending = [];
  }

  /** Buffers handed out and not yet released (tests use it to find leaks). */
  get live(): number {
    return this.#live;
  }

  destroy(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    for (const b of this.#pending) b.destroy();
    this.#free.clear();
    this.#pending = [];
  }
}
