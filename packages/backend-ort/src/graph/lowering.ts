import type { GraphBuilder } from './builder.js';
import type { TraceOp, TraceValue } from './trace.js';

/**
 * Turns traced values into ONNX nodes of one graph. Materialised (`data`) values become graph
 * inputs of the main graph, named in the order first met, so the same trace gives the same
 * graph. A Loop body gets its own Lowering with `outer` set: values that do not depend on the
 * body's placeholders are emitted in the outer graph and referenced by name from the body.
 */
export class Lowering {
  private readonly names = new Map<TraceValue, string>();
  private readonly opOutputs = new Map<TraceOp, string[]>();
  /** Graph inputs in order, with the value whose data feeds each. */
  readonly feeds: { name: string; value: TraceValue }[] = [];

  constructor(
    readonly b: GraphBuilder,
    readonly outer?: Lowering,
    readonly scope = 0,
  ) {}

  /** Binds a body placeholder to the body input (or derived name) that carries it. */
  bind(v: TraceValue, name: string): void {
    this.names.set(v, name);
  }

  lower(v: TraceValue): string {
    const known = this.names.get(v);
    if (known !== undefined) return known;
    if (this.outer && (v.scope < this.scope || v.source.kind === 'data'))
      return this.outer.lower(v);
    const src = v.source;
    let name: string;
    if (src.kind === 'data') {
      name = `in${this.feeds.length}`;
      // No static shape on inputs: graphs that differ only in input sizes the emitters do not
      // bake in (a decode step's cache length) share one compiled session.
      this.b.addInput(name, v.dtype, null);
      this.feeds.push({ name, value: v });
    } else if (src.kind === 'op') {
      let outs = this.opOutputs.get(src.op);
      if (!outs) {
        const inputs = src.op.inputs.map((x) => ({
          name: this.lower(x),
          shape: x.shape,
          dtype: x.dtype,
        }));
        outs = src.op.emit(this.b, inputs, this);
        this.opOutputs.set(src.op, outs);
      }
      name = outs[src.index];
    } else {
      throw new Error('ort backend: a Loop-body placeholder was used outside its Loop');
    }
    this.names.set(v, name);
    return name;
  }
}
