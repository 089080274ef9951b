/**
 * A pool of storage buffers in size classes. A disposed buffer may still be read by commands
 * that are encoded but not yet submitted, and `queue.writeBuffer` runs ahead of those
 * commands; so a released buffer only becomes reusable after the next submit.
 *
 * Sizes are rounded to 256 bytes, and above 64 KiB to one of 8 classes per power of two
 * (≤ 12.5% slack), so that tensors whose size changes a little every step (a decode step's
 * KV-cache prefix) share buffers instead of each keeping its own. Free buffers beyond
 * `maxFreeBytes` are destroyed rather than kept.
 */
const ALIGN = 256;
const CLASSES_FROM = 64 * 1024;
const CLASSES_PER_OCTAVE = 8;

/** The allocation size for a request of `bytes`, never rounded past `maxBytes`. */
export function sizeClass(bytes: number, maxBytes = Number.POSITIVE_INFINITY): number {
  const aligned = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (aligned <= CLASSES_FROM) return aligned;
  const octave = 2 ** Math.floor(Math.log2(aligned));
  const step = octave / CLASSES_PER_OCTAVE;
  return Math.max(aligned, Math.min(Math.ceil(aligned / step) * step, maxBytes));
}

export class BufferPool {
  readonly #device: GPUDevice;
  readonly #usage: number;
  readonly #maxFreeBytes: number;
  readonly #maxBytes: number;
  readonly #free = new Map<number, GPUBuffer[]>();
  #freeBytes = 0;
  #pending: GPUBuffer[] = [];
  #live = 0;

  constructor(device: GPUDevice, usage: number, maxFreeBytes = 2 ** 31) {
    this.#device = device;
    this.#usage = usage;
    this.#maxFreeBytes = maxFreeBytes;
    this.#maxBytes = Math.min(
      device.limits.maxBufferSize,
      device.limits.maxStorageBufferBindingSize,
    );
  }

  /** A buffer of at least `bytes` bytes (contents undefined). */
  acquire(bytes: number): GPUBuffer {
    if (bytes > this.#maxBytes) {
      throw new Error(
        `a ${bytes}-byte tensor exceeds this device's largest storage buffer (min of maxBufferSize and maxStorageBufferBindingSize: ${this.#maxBytes} bytes)`,
      );
    }
    const size = sizeClass(bytes, this.#maxBytes);
    const reused = this.#free.get(size)?.pop();
    this.#live++;
    if (reused) {
      this.#freeBytes -= size;
      return reused;
    }
    return this.#device.createBuffer({ size, usage: this.#usage });
  }

  release(buffer: GPUBuffer): void {
    this.#live--;
    this.#pending.push(buffer);
  }

  /** Called after every submit: released buffers may now be handed out again. */
  submitted(): void {
    for (const b of this.#pending) {
      if (this.#freeBytes + b.size > this.#maxFreeBytes) {
        b.destroy(); // WebGPU frees it once the submitted work that uses it is done
        continue;
      }
      this.#freeBytes += b.size;
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

  /** Bytes held in free buffers. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  destroy(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    for (const b of this.#pending) b.destroy();
    this.#free.clear();
    this.#pending = [];
    this.#freeBytes = 0;
  }
}
