/**
 * A pool of storage buffers in size classes, and the meter of every byte the device holds.
 *
 * A released buffer may still be read by commands that are encoded but not yet submitted.
 * Commands of one encoder run in order, so a later kernel may overwrite it: GPU-written
 * tensors take released buffers at once, which keeps the device's peak at the live set of a
 * micro-batch instead of everything it allocated between two submits. `queue.writeBuffer`,
 * however, runs ahead of those commands: a host-written tensor (`upload`) only takes buffers
 * released before the last submit.
 *
 * Sizes are rounded to 256 bytes, and above 64 KiB to one of 8 classes per power of two
 * (≤ 12.5% slack), so that tensors whose size changes a little every step (a decode step's
 * KV-cache prefix) share buffers instead of each keeping its own. At each submit, free buffers
 * beyond `maxFreeBytes` are destroyed rather than kept.
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

/**
 * Bytes of GPU buffers created and not yet destroyed (tensors, the pool's free buffers, the
 * uniform ring, read staging), and their high-water mark.
 */
export class MemoryMeter {
  #live = 0;
  #peak = 0;
  allocated(bytes: number): void {
    this.#live += bytes;
    if (this.#live > this.#peak) this.#peak = this.#live;
  }
  freed(bytes: number): void {
    this.#live -= bytes;
  }
  resetPeak(): void {
    this.#peak = this.#live;
  }
  get liveBytes(): number {
    return this.#live;
  }
  get peakBytes(): number {
    return this.#peak;
  }
}

export class BufferPool {
  readonly #device: GPUDevice;
  readonly #usage: number;
  readonly #maxFreeBytes: number;
  readonly #maxBytes: number;
  readonly #meter: MemoryMeter;
  /** Released before the last submit: any use. */
  readonly #settled = new Map<number, GPUBuffer[]>();
  /** Creation order of this pool's buffers: the settled lists' canonical order. */
  readonly #ids = new Map<GPUBuffer, number>();
  #nextId = 0;
  /** Released since the last submit: only for GPU-written tensors. */
  readonly #fresh = new Map<number, GPUBuffer[]>();
  #freeBytes = 0;
  #live = 0;

  /** `maxBytes`: the largest buffer (the binding limit); at most the device's limits. */
  constructor(
    device: GPUDevice,
    usage: number,
    maxFreeBytes = 2 ** 31,
    maxBytes = Number.POSITIVE_INFINITY,
    meter = new MemoryMeter(),
  ) {
    this.#device = device;
    this.#usage = usage;
    this.#maxFreeBytes = maxFreeBytes;
    // a multiple of 256, so that no size class rounds past the binding limit
    this.#maxBytes =
      Math.floor(
        Math.min(maxBytes, device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize) /
          256,
      ) * 256;
    this.#meter = meter;
  }

  /** The largest buffer this pool hands out (tensors above it are split into segments). */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * A buffer of at least `bytes` bytes (contents undefined). `hostWrite`: the caller fills it
   * with `queue.writeBuffer`, so it must not be a buffer that unsubmitted commands still read.
   */
  acquire(bytes: number, hostWrite = false): GPUBuffer {
    if (bytes > this.#maxBytes) {
      throw new Error(
        `a ${bytes}-byte buffer exceeds this device's largest storage buffer (min of maxBufferSize, maxStorageBufferBindingSize and maxBindingBytes: ${this.#maxBytes} bytes)`,
      );
    }
    const size = sizeClass(bytes, this.#maxBytes);
    // GPU-written tensors take fresh buffers first, leaving the settled ones to uploads
    const reused = hostWrite
      ? this.#settled.get(size)?.pop()
      : (this.#fresh.get(size)?.pop() ?? this.#settled.get(size)?.pop());
    this.#live++;
    if (reused) {
      this.#freeBytes -= size;
      return reused;
    }
    this.#meter.allocated(size);
    const buffer = this.#device.createBuffer({ size, usage: this.#usage });
    this.#ids.set(buffer, this.#nextId++);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    this.#live--;
    this.#freeBytes += buffer.size;
    push(this.#fresh, buffer);
  }

  /**
   * Called after every submit: fresh buffers settle; free bytes beyond the cap are destroyed.
   * Each settled list is kept in a canonical order (by creation), so a decode step that finds
   * the same free buffers as the step before takes the same ones in the same order: its bind
   * groups then repeat and come from the command queue's cache.
   */
  submitted(): void {
    // newest first, so that pop() takes the oldest: sort what came back, merge it in
    const newestFirst = (a: GPUBuffer, b: GPUBuffer) => this.#id(b) - this.#id(a);
    for (const [size, list] of this.#fresh) {
      list.sort(newestFirst);
      const settled = this.#settled.get(size);
      this.#settled.set(size, settled ? this.#merge(settled, list) : list);
    }
    this.#fresh.clear();
    if (this.#freeBytes <= this.#maxFreeBytes) return;
    // largest first: a few big buffers free the most with the fewest future re-creations
    for (const size of [...this.#settled.keys()].sort((a, b) => b - a)) {
      const list = this.#settled.get(size) ?? [];
      while (list.length > 0 && this.#freeBytes > this.#maxFreeBytes) {
        const b = list.pop();
        b?.destroy(); // WebGPU frees it once the submitted work that uses it is done
        if (b) this.#ids.delete(b);
        this.#freeBytes -= size;
        this.#meter.freed(size);
      }
      if (list.length === 0) this.#settled.delete(size);
    }
  }

  #id(b: GPUBuffer): number {
    return this.#ids.get(b) ?? -1;
  }

  /** Two lists ordered newest first → one. */
  #merge(a: GPUBuffer[], b: GPUBuffer[]): GPUBuffer[] {
    const out: GPUBuffer[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length)
      out.push(this.#id(a[i]) >= this.#id(b[j]) ? a[i++] : b[j++]);
    while (i < a.length) out.push(a[i++]);
    while (j < b.length) out.push(b[j++]);
    return out;
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
    for (const map of [this.#settled, this.#fresh]) {
      for (const list of map.values()) for (const b of list) b.destroy();
      map.clear();
    }
    this.#ids.clear();
    this.#meter.freed(this.#freeBytes);
    this.#freeBytes = 0;
  }
}

function push(map: Map<number, GPUBuffer[]>, b: GPUBuffer, size = b.size): void {
  const list = map.get(size);
  if (list) list.push(b);
  else map.set(size, [b]);
}
