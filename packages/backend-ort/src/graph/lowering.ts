import type { GraphBuilder } from './builder.js';
import type { TraceOp, TraceValue, ValueNames } from './trace.js';

/**
 * Turns traced values into ONNX nodes of one graph. Materialised (`data`) values become graph
 * inputs of the main graph, named in the order first met, so the same trace gives the same
 * graph. A Loop body gets its own Lowering with `outer` set: values that do not depend on the
 * body's placeholders are emitted in the outer graph and referenced by name from the body.
 */
export class Lowering implements ValueNames {
  private readonly names = new Map<TraceValue, string>();
  private readonly opOutputs = new Map<TraceOp, string[]>();
  /** Graph inputs in order, with the value whose data feeds each. */
  readonly feeds: { name: string; value: TraceValue }[] = [];

  constructor(
    readonly b: GraphBuilder,
    readonly outer?: ValueNames,
    readonly scope = 0,
  ) {}

  /** Binds a body placeholder to the body input (or derived name) that carries it. */
  bind(v: TraceValue, name: string): void {
    this.names.set(v, name);
  }

  /** The ONNX name of v, emitting whatever it needs first (iterative: graphs are deep). */
  lower(root: TraceValue): string {
    const stack = [root];
    while (stack.length > 0) {
      const v = stack[stack.length - 1];
      if (this.names.has(v)) {
        stack.pop();
        continue;
      }
      const src = v.source;
      if (this.outer && (v.scope < this.scope || src.kind === 'data')) {
        this.names.set(v, this.outer.lower(v));
      } else if (src.kind === 'data') {
        const name = `in${this.feeds.length}`;
        // No static shape on inputs: graphs that differ only in input sizes the emitters do not
        // bake in (a decode step's cache length) share one compiled session.
        this.b.addInput(name, v.dtype, null);
        this.feeds.push({ name, value: v });
        this.names.set(v, name);
      } else if (src.kind === 'placeholder') {
        throw new Error('ort backend: a Loop-body placeholder was used outside its Loop');
      } else {
        let outs = this.opOutputs.get(src.op);
        if (!outs) {
          const missing = src.op.inputs.filter((x) => !this.names.has(x));
          if (missing.length > 0) {
            // inputs first, lowered in input order (the deterministic graph order)
            for (let i = missing.length - 1; i >= 0; i--) stack.push(missing[i]);
            continue;
          }
          const inputs = src.op.inputs.map((x) => ({
            name: this.names.get(x) as string,
            shape: x.shape,
            dtype: x.dtype,
          }));
          outs = src.op.emit(this.b, inputs, this);
          this.opOutputs.set(src.op, outs);
        }
        this.names.set(v, outs[src.index]);
      }
      stack.pop();
    }
    return this.names.get(root) as string;
  }
}
