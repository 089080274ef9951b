/**
 * Chat templates come from model repositories, so a template may loop for ever
 * (`{% for i in range(10**9) %}`) or build a gigabyte string. @huggingface/jinja renders
 * synchronously with no limits, so templates render in a child process with a heap cap
 * (--max-old-space-size: V8 aborts the whole process on some out-of-memory paths, so a worker
 * thread's resourceLimits would not contain it), while the caller waits on an Atomics flag
 * with a deadline and kills the child when it passes. A relay worker thread talks to the child
 * (the caller's event loop is blocked while it waits); the caller stays synchronous
 * (Tokenizer.applyChatTemplate is).
 *
 * One child serves every template of the process (starting it costs ~100-300 ms), created on
 * first use, unref'd so it never keeps the process alive, and replaced after a killed render.
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
  /** Heap cap of the render process in MiB (default 256). */
  maxHeapMb?: number;
}

export const DEFAULT_RENDER_LIMITS: Required<RenderLimits> = {
  timeoutMs: 1000,
  maxChars: 16 * 2 ** 20,
  maxHeapMb: 256,
};

/** Time to start the worker and the child and load the engine (a loaded machine: seconds). */
const STARTUP_TIMEOUT_MS = 20_000;

/** A render that failed or went past a limit; `limit` says which limit, if any. */
export class TemplateRenderError extends Error {
  constructor(
    message: string,
    readonly limit: 'time' | 'memory' | 'output' | null,
  ) {
    super(message);
    this.name = 'TemplateRenderError';
  }
}

// The child (CommonJS, `node -e`): compiles each template once (a small cache) and renders.
const CHILD_SOURCE = `
const { Template } = require(process.argv[1]);
const cache = new Map();
process.on('disconnect', () => process.exit(0));
process.on('message', ({ id, template, context, maxChars }) => {
  try {
    let t = cache.get(template);
    if (t === undefined) {
      if (cache.size >= 32) cache.clear();
      t = new Template(template);
      cache.set(template, t);
    }
    const text = t.render(context);
    if (typeof text === 'string' && text.length > maxChars) {
      process.send({ id, error: 'output of ' + text.length + ' characters exceeds the limit of ' + maxChars, limit: 'output' });
    } else {
      process.send({ id, text });
    }
  } catch (e) {
    process.send({ id, error: e instanceof Error ? e.message : String(e), limit: null });
  }
});
process.send({ id: -1 });
`;

// The relay worker (CommonJS, eval): starts the child, forwards requests and replies, and
// reports the child's death (out of memory) as the reply to the pending request.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
const reply = (message) => {
  port.postMessage(message);
  Atomics.add(flag, 0, 1);
  Atomics.notify(flag, 0);
};
const child = spawn(
  process.execPath,
  ['--max-old-space-size=' + workerData.maxHeapMb, '-e', workerData.childSource, workerData.jinja],
  { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], execArgv: [] },
);
let pending = -1;
child.on('message', (m) => {
  if (m.id === -1) reply({ id: -1, pid: child.pid });
  else reply(m);
});
child.on('exit', (code, signal) => {
  reply({ id: pending, error: 'the render process ended (' + (signal || 'exit code ' + code) + ')', limit: 'memory' });
});
child.on('error', (e) => reply({ id: pending, error: String(e && e.message), limit: 'memory' }));
port.on('message', (m) => {
  pending = m.id;
  child.send(m);
});
`;

interface Reply {
  id: number;
  pid?: number;
  text?: string;
  error?: string;
  limit?: 'output' | 'memory' | null;
}

class RenderWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly pid: number | undefined;
  private nextId = 1;

  constructor(readonly maxHeapMb: number) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        jinja: createRequire(import.meta.url).resolve('@huggingface/jinja'),
        childSource: CHILD_SOURCE,
        maxHeapMb,
        flag: this.flag.buffer,
        port: port2,
      },
      transferList: [port2],
    });
    this.worker.unref();
    this.port.unref();
    this.worker.on('error', () => {});
    const ready = this.wait(-1, STARTUP_TIMEOUT_MS);
    this.pid = ready?.pid;
    if (ready === undefined || this.pid === undefined) {
      this.dispose();
      throw new Error(
        `the chat-template render process did not start within ${STARTUP_TIMEOUT_MS} ms${ready?.error ? `: ${ready.error}` : ''}`,
      );
    }
  }

  /** Renders, or undefined when the deadline passed (the child is then killed). */
  render(
    template: string,
    context: Record<string, unknown>,
    maxChars: number,
    timeoutMs: number,
  ): Reply | undefined {
    const id = this.nextId++;
    this.port.postMessage({ id, template, context, maxChars });
    return this.wait(id, timeoutMs);
  }

  /** Kills the child and ends the worker. */
  dispose(): void {
    try {
      if (this.pid !== undefined) process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    void this.worker.terminate();
  }

  private wait(id: number, timeoutMs: number): Reply | undefined {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = receiveMessageOnPort(this.port)?.message as Reply | undefined;
      if (got !== undefined && got.id === id) return got;
      if (got !== undefined) continue; // a late reply of an abandoned render
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      // the reply is posted before the flag moves, so a wake-up finds it on the port
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
  const hint = '(a runaway loop or a huge output in the template?)';
  if (r === undefined || r.limit === 'memory') {
    shared.dispose();
    shared = undefined;
    throw r === undefined
      ? new TemplateRenderError(
          `${what}: rendering stopped: it did not finish within ${timeoutMs} ms ${hint}`,
          'time',
        )
      : new TemplateRenderError(
          `${what}: rendering stopped: ${r.error}, out of its ${maxHeapMb} MB memory limit ${hint}`,
          'memory',
        );
  }
  if (r.error !== undefined) {
    throw new TemplateRenderError(
      r.limit === 'output'
        ? `${what}: rendering stopped: the ${r.error} ${hint}`
        : `${what}: rendering failed: ${r.error}`,
      r.limit === 'output' ? 'output' : null,
    );
  }
  return r.text as string;
}
