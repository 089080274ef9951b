import { availableParallelism } from 'node:os';
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';
import type { AdamWParams, SgdParams } from '@oneshot-em/core';
import { adamwInPlace, sgdInPlace } from './optimizers.js';

/**
 * The host optimizer of the ORT backend: AdamW split over a persistent pool of worker threads,
 * in place, allocating nothing per step.
 *
 * Why the copies: onnxruntime-node rejects a SharedArrayBuffer-backed tensor ("Invalid
 * argument", as input and as a pre-allocated output — optimizer-pool.test.ts holds it), so a
 * parameter, which every graph run feeds, and a gradient, which a run returns, live in ordinary
 * ArrayBuffers that no worker can see. The moments m and v are never fed to ORT: they move into
 * SharedArrayBuffers once, on their first update, and stay there. Per chunk the main thread
 * copies the parameter and gradient slices into the worker's shared scratch (a memcpy, ~10× cheaper
 * than the update's sqrt and two f64 divisions per element), the worker updates scratch p and
 * the shared m, v in place, and the main thread copies p back. Two chunks are in flight per
 * worker (double buffering) and the main thread updates chunks of its own in place meanwhile,
 * so `threads` counts it: the pool has threads − 1 workers. Completion is signalled through
 * Atomics on a shared counter, so the update is synchronous (a host op) and needs no event loop.
 *
 * SGD is one memory-bound pass, cheaper than the copies a worker would need: it runs inline.
 */
export interface HostOptimizerOptions {
  /** Threads that update parameters, the main thread included; default os.availableParallelism(). */
  threads?: number;
  /** Elements per worker job (default 2¹⁷: 1 MiB of scratch per slot, L2-sized). */
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
  /** 2 slots × (p, g) × chunk */
  scratch: Float32Array;
  errors: MessagePort;
  posted: number;
  inflight: Job[];
}

/** No progress from any worker for this long means one died (e.g. killed for memory). */
const STALL_MS = 120_000;

function workerSource(): string {
  // The kernel travels as source text: one implementation for the main thread and the workers.
  return `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const adamwInPlace = (${adamwInPlace.toString()});
const ctl = new Int32Array(workerData.ctl);
const scratch = new Float32Array(workerData.scratch);
const chunk = workerData.chunk;
const errors = workerData.errors;
parentPort.on('message', (job) => {
  try {
    const base = job.slot * 2 * chunk;
    adamwInPlace(scratch.subarray(base, base + job.len), scratch.subarray(base + chunk, base + chunk + job.len), job.m, job.v, job.p);
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
  private workers: PoolWorker[] | null = null;

  constructor(options: HostOptimizerOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`host optimizer: threads = ${threads}; expected an integer ≥ 1`);
    const chunk = options.chunk ?? 1 << 17;
    if (!Number.isInteger(chunk) || chunk < 1)
      throw new Error(`host optimizer: chunk = ${chunk}; expected an integer ≥ 1`);
    const inlineMax = options.inlineMax ?? 1 << 16;
    if (!Number.isInteger(inlineMax) || inlineMax < 0)
      throw new Error(`host optimizer: inlineMax = ${inlineMax}; expected an integer ≥ 0`);
    this.threads = threads;
    this.chunk = chunk;
    this.inlineMax = inlineMax;
  }

  /** Live worker threads (0 until the first update big enough to use them, and after destroy). */
  workerCount(): number {
    return this.workers?.length ?? 0;
  }

  /**
   * torch.optim.AdamW on one tensor, in place: returns [param, m, v] — param itself, and m, v
   * themselves once they are SharedArrayBuffer-backed (their first pooled update moves them).
   */
  adamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    p: AdamWParams,
  ): [Float32Array, Float32Array, Float32Array] {
    const n = param.length;
    if (grad.length !== n || m.length !== n || v.length !== n)
      throw new Error(
        `host optimizer: adamw operands of ${n} (param), ${grad.length} (grad), ${m.length} (m), ${v.length} (v) elements; expected equal lengths`,
      );
    if (this.threads === 1 || n <= this.inlineMax) {
      adamwInPlace(param, grad, m, v, p);
      return [param, m, v];
    }
    const sm = toShared(m);
    const sv = toShared(v);
    this.pooledAdamw(param, grad, sm, sv, p);
    return [param, sm, sv];
  }

  /** SGD in place (inline; see the class comment); returns param. */
  sgd(param: Float32Array, grad: Float32Array, p: SgdParams): Float32Array {
    if (grad.length !== param.length)
      throw new Error(
        `host optimizer: sgd operands of ${param.length} (param) and ${grad.length} (grad) elements; expected equal lengths`,
      );
    sgdInPlace(param, grad, p);
    return param;
  }

  /** Terminates the workers; a later update starts a new pool. */
  async destroy(): Promise<void> {
    const ws = this.workers;
    this.workers = null;
    if (!ws) return;
    for (const w of ws) w.errors.close();
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }

  private pool(): PoolWorker[] {
    if (this.workers) return this.workers;
    const source = workerSource();
    this.workers = Array.from({ length: this.threads - 1 }, () => {
      const ctl = new Int32Array(new SharedArrayBuffer(8));
      const scratch = new Float32Array(new SharedArrayBuffer(4 * 4 * this.chunk));
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(source, {
        eval: true,
        // No loader (tsx, vitest) in the workers: the source above is plain JavaScript.
        execArgv: [],
        workerData: { ctl: ctl.buffer, scratch: scratch.buffer, chunk: this.chunk, errors: port2 },
        transferList: [port2],
      });
      // A process that never calls destroy() still exits; idle workers hold nothing.
      worker.unref();
      port1.unref();
      return { worker, ctl, scratch, errors: port1, posted: 0, inflight: [] };
    });
    return this.workers;
  }

  private pooledAdamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    p: AdamWParams,
  ): void {
    const ws = this.pool();
    const n = param.length;
    const chunk = this.chunk;
    // The main thread's own pieces are half a job, so it returns to refill the workers in time.
    const mainPiece = Math.max(1, chunk >> 1);
    const params = { ...p };
    let cursor = 0;
    let active = 0;
    let lastProgress = Date.now();
    while (cursor < n || active > 0) {
      let progressed = false;
      for (const [index, w] of ws.entries()) {
        while (w.inflight.length > 0 && Atomics.load(w.ctl, 0) >= w.inflight[0].seq) {
          const job = w.inflight.shift() as Job;
          if (Atomics.load(w.ctl, 1) !== 0) this.fail(index, w);
          const base = job.slot * 2 * chunk;
          param.set(w.scratch.subarray(base, base + job.hi - job.lo), job.lo);
          active--;
          progressed = true;
        }
        while (w.inflight.length < 2 && cursor < n) {
          const lo = cursor;
          const hi = Math.min(n, lo + chunk);
          cursor = hi;
          const slot = w.inflight.length === 0 ? 0 : 1 - w.inflight[0].slot;
          const base = slot * 2 * chunk;
          w.scratch.set(param.subarray(lo, hi), base);
          w.scratch.set(grad.subarray(lo, hi), base + chunk);
          // Views of shared memory: structured clone passes the SharedArrayBuffer, no copy.
          w.worker.postMessage({
            slot,
            len: hi - lo,
            m: m.subarray(lo, hi),
            v: v.subarray(lo, hi),
            p: params,
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
        adamwInPlace(
          param.subarray(lo, hi),
          grad.subarray(lo, hi),
          m.subarray(lo, hi),
          v.subarray(lo, hi),
          params,
        );
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
