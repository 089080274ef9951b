import { availableParallelism } from 'node:os';
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';
import type { AdamWParams, SgdParams } from '../../backend/tensor-ops.js';
import { AdamwSimd, adamwSimdModule, adamwSimdScalars, simdAvailable } from './simd.js';
import { adamwInPlace, sgdInPlace } from './in-place.js';

/**
 * The host optimizer (the ORT backend's, and the trainer's with optimizerOn 'host'): AdamW split
 * over a persistent pool of worker threads, in place, allocating nothing per step, each thread
 * running the SIMD kernel of simd.ts over chunks staged in its own shared WebAssembly memory.
 *
 * Why staging: onnxruntime-node rejects a SharedArrayBuffer-backed tensor ("Invalid argument",
 * as input and as a pre-allocated output — backend-ort's ort-shared-memory.test.ts holds it), so a parameter,
 * which every graph run feeds, and a gradient, which a run returns, live in ordinary
 * ArrayBuffers that no worker can see. The moments m and v are never fed to ORT: they move into
 * SharedArrayBuffers once, on their first pooled update, and stay there. Per chunk the main
 * thread copies the parameter and gradient slices into the worker's memory (memcpy), the
 * worker copies its m and v slices in, runs the kernel and copies m, v back, and the main
 * thread copies p back. Two chunks are in flight per worker (double buffering) and the main
 * thread runs chunks of its own meanwhile, so `threads` counts it: the pool has threads − 1
 * workers. Completion is signalled through Atomics on a shared counter, so the update is
 * synchronous (a host op) and needs no event loop. Tensors of at most `inlineMax` elements run
 * the exact JavaScript kernel inline (in-place.ts).
 *
 * SGD is one memory-bound pass, cheaper than the copies a worker would need: it runs inline.
 *
 * Both return Σ p² of the updated parameter (f64, from the kernels' own pass): the trainer's
 * check that the weights are finite after the update reads it instead of the weights.
 */
export interface HostOptimizerOptions {
  /** Threads that update parameters, the main thread included; default os.availableParallelism(). */
  threads?: number;
  /** Elements per worker job, a multiple of 4 (default 2¹⁷: 4 × 512 KiB staged per slot). */
  chunk?: number;
  /** Tensors of at most this many elements are updated inline, without workers (default 2¹⁶). */
  inlineMax?: number;
}

interface Job {
  seq: number;
  slot: number;
  lo: number;
  hi: number;
}

interface PoolWorker {
  worker: Worker;
  /** [jobs finished, error flag] */
  ctl: Int32Array;
  /** per slot: Σ p² of the slot's last job (written before its completion is signalled) */
  sums: Float64Array;
  /** the worker's kernel memory: 2 slots × (p, g, m, v) × chunk floats */
  heap: Float32Array;
  errors: MessagePort;
  posted: number;
  inflight: Job[];
}

/** No progress from any worker for this long means one died (e.g. killed for memory). */
const STALL_MS = 120_000;

function workerSource(): string {
  // The tail kernel travels as source text: one implementation for the main thread and the workers.
  return `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const adamwInPlace = (${adamwInPlace.toString()});
const ctl = new Int32Array(workerData.ctl);
const sums = new Float64Array(workerData.sums);
const chunk = workerData.chunk;
const errors = workerData.errors;
const mem = workerData.memory;
const heap = new Float32Array(mem.buffer);
const run = new WebAssembly.Instance(new WebAssembly.Module(workerData.module), { env: { mem } }).exports.adamw;
parentPort.on('message', (job) => {
  try {
    const [po, go, mo, vo] = [0, 1, 2, 3].map((r) => (job.slot * 4 + r) * chunk);
    heap.set(job.m, mo);
    heap.set(job.v, vo);
    const n4 = job.len >> 2;
    let sum = run(po * 4, go * 4, mo * 4, vo * 4, n4, ...job.scalars);
    const t = n4 * 4;
    if (t < job.len)
      sum += adamwInPlace(heap.subarray(po + t, po + job.len), heap.subarray(go + t, go + job.len), heap.subarray(mo + t, mo + job.len), heap.subarray(vo + t, vo + job.len), job.p);
    job.m.set(heap.subarray(mo, mo + job.len));
    job.v.set(heap.subarray(vo, vo + job.len));
    sums[job.slot] = sum;
  } catch (e) {
    Atomics.store(ctl, 1, 1);
    errors.postMessage(String((e && e.stack) || e));
  }
  Atomics.add(ctl, 0, 1);
  Atomics.notify(ctl, 0);
});`;
}

/** a itself when it is SharedArrayBuffer-backed, else a shared copy (once per moment tensor). */
function toShared(a: Float32Array): Float32Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

export class HostOptimizer {
  readonly threads: number;
  private readonly chunk: number;
  private readonly inlineMax: number;
  /** WebAssembly SIMD runs here (it does on Node ≥ 16.4); without it every update is inline. */
  private readonly simd: boolean;
  private workers: PoolWorker[] | null = null;
  private main: AdamwSimd | null = null;

  constructor(options: HostOptimizerOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`host optimizer: threads = ${threads}; expected an integer ≥ 1`);
    const chunk = options.chunk ?? 1 << 17;
    if (!Number.isInteger(chunk) || chunk < 4 || chunk % 4 !== 0)
      throw new Error(`host optimizer: chunk = ${chunk}; expected a multiple of 4`);
    const inlineMax = options.inlineMax ?? 1 << 16;
    if (!Number.isInteger(inlineMax) || inlineMax < 0)
      throw new Error(`host optimizer: inlineMax = ${inlineMax}; expected an integer ≥ 0`);
    this.threads = threads;
    this.simd = simdAvailable();
    this.chunk = chunk;
    this.inlineMax = inlineMax;
  }

  /** Live worker threads (0 until the first update big enough to use them, and after destroy). */
  workerCount(): number {
    return this.workers?.length ?? 0;
  }

  /**
   * torch.optim.AdamW on one tensor, in place: returns [param, m, v, Σ p²] — param itself, and
   * m, v themselves once they are SharedArrayBuffer-backed (their first pooled update moves
   * them), and the updated parameter's sum of squares.
   */
  adamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    p: AdamWParams,
  ): [Float32Array, Float32Array, Float32Array, number] {
    const n = param.length;
    if (grad.length !== n || m.length !== n || v.length !== n)
      throw new Error(
        `host optimizer: adamw operands of ${n} (param), ${grad.length} (grad), ${m.length} (m), ${v.length} (v) elements; expected equal lengths`,
      );
    // threads 1: the main thread alone, still through the SIMD kernel
    if (n <= this.inlineMax || !this.simd) return [param, m, v, adamwInPlace(param, grad, m, v, p)];
    const sm = toShared(m);
    const sv = toShared(v);
    return [param, sm, sv, this.pooledAdamw(param, grad, sm, sv, p)];
  }

  /** SGD in place (inline; see the class comment); returns [param, Σ p²]. */
  sgd(param: Float32Array, grad: Float32Array, p: SgdParams): [Float32Array, number] {
    if (grad.length !== param.length)
      throw new Error(
        `host optimizer: sgd operands of ${param.length} (param) and ${grad.length} (grad) elements; expected equal lengths`,
      );
    return [param, sgdInPlace(param, grad, p)];
  }

  /** Terminates the workers; a later update starts a new pool. */
  async destroy(): Promise<void> {
    const ws = this.workers;
    this.workers = null;
    if (!ws) return;
    for (const w of ws) w.errors.close();
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }

  /** The main thread's kernel: its pieces are half a job, so it returns to refill the workers in time. */
  private mainKernel(): AdamwSimd {
    this.main ??= new AdamwSimd(Math.max(4, (this.chunk >> 1) & ~3), 1);
    return this.main;
  }

  private pool(): PoolWorker[] {
    if (this.workers) return this.workers;
    if (this.threads === 1) return [];
    const source = workerSource();
    this.workers = Array.from({ length: this.threads - 1 }, () => {
      const ctl = new Int32Array(new SharedArrayBuffer(8));
      const sums = new Float64Array(new SharedArrayBuffer(16));
      const memory = new AdamwSimd(this.chunk, 2).memory;
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(source, {
        eval: true,
        // No loader (tsx, vitest) in the workers: the source above is plain JavaScript.
        execArgv: [],
        workerData: {
          ctl: ctl.buffer,
          sums: sums.buffer,
          memory,
          module: adamwSimdModule(),
          chunk: this.chunk,
          errors: port2,
        },
        transferList: [port2],
      });
      // A process that never calls destroy() still exits; idle workers hold nothing.
      worker.unref();
      port1.unref();
      const heap = new Float32Array(memory.buffer);
      return { worker, ctl, sums, heap, errors: port1, posted: 0, inflight: [] };
    });
    return this.workers;
  }

  private pooledAdamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    p: AdamWParams,
  ): number {
    const ws = this.pool();
    const n = param.length;
    const chunk = this.chunk;
    const main = this.mainKernel();
    // About four pieces per thread, so a tensor of a chunk or two still spreads over every thread
    const piece = Math.min(chunk, Math.max(4096, Math.ceil(n / (4 * this.threads) / 4) * 4));
    const mainPiece = Math.min(piece, main.chunk);
    const params = { ...p };
    const scalars = adamwSimdScalars(p);
    let cursor = 0;
    let active = 0;
    let sum = 0;
    let lastProgress = Date.now();
    while (cursor < n || active > 0) {
      let progressed = false;
      for (const [index, w] of ws.entries()) {
        while (w.inflight.length > 0 && Atomics.load(w.ctl, 0) >= w.inflight[0].seq) {
          const job = w.inflight.shift() as Job;
          if (Atomics.load(w.ctl, 1) !== 0) this.fail(index, w);
          const base = job.slot * 4 * chunk;
          param.set(w.heap.subarray(base, base + job.hi - job.lo), job.lo);
          sum += w.sums[job.slot];
          active--;
          progressed = true;
        }
        while (w.inflight.length < 2 && cursor < n) {
          const lo = cursor;
          const hi = Math.min(n, lo + piece);
          cursor = hi;
          const slot = w.inflight.length === 0 ? 0 : 1 - w.inflight[0].slot;
          const base = slot * 4 * chunk;
          w.heap.set(param.subarray(lo, hi), base);
          w.heap.set(grad.subarray(lo, hi), base + chunk);
          // Views of shared memory: structured clone passes the SharedArrayBuffer, no copy.
          w.worker.postMessage({
            slot,
            len: hi - lo,
            m: m.subarray(lo, hi),
            v: v.subarray(lo, hi),
            p: params,
            scalars,
          });
          w.inflight.push({ seq: ++w.posted, slot, lo, hi });
          active++;
          progressed = true;
        }
      }
      if (cursor < n) {
        const lo = cursor;
        const hi = Math.min(n, lo + mainPiece);
        cursor = hi;
        const h = main.heap;
        h.set(param.subarray(lo, hi), main.region(0, 0));
        h.set(grad.subarray(lo, hi), main.region(0, 1));
        h.set(m.subarray(lo, hi), main.region(0, 2));
        h.set(v.subarray(lo, hi), main.region(0, 3));
        sum += main.update(0, hi - lo, scalars, params);
        param.set(h.subarray(main.region(0, 0), main.region(0, 0) + hi - lo), lo);
        m.set(h.subarray(main.region(0, 2), main.region(0, 2) + hi - lo), lo);
        v.set(h.subarray(main.region(0, 3), main.region(0, 3) + hi - lo), lo);
        continue;
      }
      if (progressed) {
        lastProgress = Date.now();
        continue;
      }
      // Every chunk is handed out: sleep until the oldest job of some busy worker finishes.
      const busy = ws.find((w) => w.inflight.length > 0) as PoolWorker;
      const seen = Atomics.load(busy.ctl, 0);
      if (seen < busy.inflight[0].seq) Atomics.wait(busy.ctl, 0, seen, 1000);
      if (Date.now() - lastProgress > STALL_MS) {
        this.abandon();
        throw new Error(
          `host optimizer: no worker finished a job for ${STALL_MS / 1000} s; a worker thread died (out of memory?)`,
        );
      }
    }
    return sum;
  }

  /** After a failure the jobs in flight are unknowable: drop the pool (the next update starts anew). */
  private abandon(): void {
    const ws = this.workers;
    this.workers = null;
    for (const w of ws ?? []) {
      w.errors.close();
      void w.worker.terminate();
    }
  }

  private fail(index: number, w: PoolWorker): never {
    const msg = receiveMessageOnPort(w.errors)?.message ?? 'unknown error';
    this.abandon();
    throw new Error(`host optimizer: worker ${index} failed: ${msg}`);
  }
}
