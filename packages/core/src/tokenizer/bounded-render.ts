/**
 * Chat templates come from model repositories, so a template may loop for ever
 * (`{% for i in range(10**9) %}`) or build a gigabyte string. @huggingface/jinja renders
 * synchronously with no limits, so templates render in a worker thread with a memory cap
 * (resourceLimits) while the caller waits on an Atomics flag with a deadline; a render that
 * misses it is terminated. The caller stays synchronous (Tokenizer.applyChatTemplate is).
 *
 * One worker serves every template of the process (starting one costs ~50 ms), created on
 * first use, unref'd so it never keeps the process alive, and replaced after a terminated
 * render.
 */
import { createRequire } from 'node:module';
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';

export interface RenderLimits {
  /** Wall-clock limit of one render (default 1000 ms; real templates take well under 10 ms). */
  timeoutMs?: number;
  /** Longest output, in UTF-16 code units (default 16 Mi: ~100× a long chat at full context). */
  maxChars?: number;
  /** Heap cap of the render worker in MiB (default 256). */
  maxHeapMb?: number;
}

export const DEFAULT_RENDER_LIMITS: Required<RenderLimits> = {
  timeoutMs: 1000,
  maxChars: 16 * 2 ** 20,
  maxHeapMb: 256,
};

/** Time to start the worker and load the engine (a loaded 2-core machine can take seconds). */
const STARTUP_TIMEOUT_MS = 20_000;

/** A render that failed or went past a limit; `limit` says which limit, if any. */
export class TemplateRenderError extends Error {
  constructor(
    message: string,
    readonly limit: 'time' | 'output' | null,
  ) {
    super(message);
    this.name = 'TemplateRenderError';
  }
}

// CommonJS, evaluated in the worker: compiles each template once (a small cache), renders,
// replies on the port and then raises the flag the caller waits on.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { Template } = require(workerData.jinja);
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
const cache = new Map();
const reply = (message) => {
  port.postMessage(message);
  Atomics.store(flag, 0, message.id);
  Atomics.notify(flag, 0);
};
port.on('message', ({ id, template, context, maxChars }) => {
  try {
    let t = cache.get(template);
    if (t === undefined) {
      if (cache.size >= 32) cache.clear();
      t = new Template(template);
      cache.set(template, t);
    }
    const text = t.render(context);
    if (typeof text === 'string' && text.length > maxChars) {
      reply({ id, error: 'output of ' + text.length + ' characters exceeds the limit of ' + maxChars, limit: 'output' });
    } else {
      reply({ id, text });
    }
  } catch (e) {
    reply({ id, error: e instanceof Error ? e.message : String(e), limit: null });
  }
});
reply({ id: -1 });
`;

interface Reply {
  id: number;
  text?: string;
  error?: string;
  limit?: 'output' | null;
}

class RenderWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;

  constructor(readonly maxHeapMb: number) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        jinja: createRequire(import.meta.url).resolve('@huggingface/jinja'),
        flag: this.flag.buffer,
        port: port2,
      },
      transferList: [port2],
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb, maxYoungGenerationSizeMb: 16 },
    });
    this.worker.unref();
    this.port.unref();
    // an out-of-memory worker emits 'error' later, when nobody waits: nothing to report then
    this.worker.on('error', () => {});
    const ready = this.wait(-1, STARTUP_TIMEOUT_MS);
    if (ready === undefined) {
      void this.worker.terminate();
      throw new Error(`the chat-template worker did not start within ${STARTUP_TIMEOUT_MS} ms`);
    }
  }

  /** Renders, or undefined when the deadline passed (the worker is then terminated). */
  render(
    template: string,
    context: Record<string, unknown>,
    maxChars: number,
    timeoutMs: number,
  ): Reply | undefined {
    const id = this.nextId++;
    this.port.postMessage({ id, template, context, maxChars });
    const r = this.wait(id, timeoutMs);
    if (r === undefined) void this.worker.terminate();
    return r;
  }

  private wait(id: number, timeoutMs: number): Reply | undefined {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = receiveMessageOnPort(this.port)?.message as Reply | undefined;
      if (got !== undefined && got.id === id) return got;
      if (got !== undefined) continue; // a late reply of an abandoned render
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      // a worker killed for memory never raises the flag: the deadline still ends the wait
      // (the reply is posted before the flag moves, so a wake-up finds it on the port)
      Atomics.wait(this.flag, 0, Atomics.load(this.flag, 0), Math.min(left, 50));
    }
  }
}

let shared: RenderWorker | undefined;

/**
 * Renders `template` with `context` (structured-cloneable values) within `limits`; `what`
 * names the template in errors ("<dir>/tokenizer_config.json: chat_template").
 */
export function renderBounded(
  template: string,
  context: Record<string, unknown>,
  what: string,
  limits: RenderLimits = {},
): string {
  const { timeoutMs, maxChars, maxHeapMb } = { ...DEFAULT_RENDER_LIMITS, ...limits };
  if (shared === undefined || shared.maxHeapMb !== maxHeapMb) shared = new RenderWorker(maxHeapMb);
  const r = shared.render(template, context, maxChars, timeoutMs);
  if (r === undefined) {
    shared = undefined;
    throw new TemplateRenderError(
      `${what}: rendering stopped: it did not finish within ${timeoutMs} ms or went past ${maxHeapMb} MB of memory (a runaway loop or a huge output in the template?)`,
      'time',
    );
  }
  if (r.error !== undefined) {
    throw new TemplateRenderError(
      r.limit === 'output'
        ? `${what}: rendering stopped: the ${r.error} (a runaway loop or a huge output in the template?)`
        : `${what}: rendering failed: ${r.error}`,
      r.limit === 'output' ? 'output' : null,
    );
  }
  return r.text as string;
}
