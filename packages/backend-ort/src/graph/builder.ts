import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
type NodeProto = onnxProto.onnx.INodeProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

/** ONNX element types used by this backend (TensorProto.DataType). */
export type ElemType = 'f32' | 'f16' | 'i32' | 'i64' | 'bool';
const ELEM_CODE: Record<ElemType, number> = { f32: 1, f16: 10, i32: 6, i64: 7, bool: 9 };

/** A typed attribute value; the wrappers keep ints and floats apart (JS numbers cannot). */
export type Attr =
  | { i: number }
  | { f: number }
  | { ints: readonly number[] }
  | { s: string }
  | { g: GraphProto };
export const int = (i: number): Attr => ({ i });
export const float = (f: number): Attr => ({ f });
export const ints = (v: readonly number[]): Attr => ({ ints: v });
export const str = (s: string): Attr => ({ s });
export const graph = (g: GraphProto): Attr => ({ g });

function toAttribute(name: string, a: Attr): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('s' in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
  return { name, type: T.GRAPH, g: a.g };
}

/** `dims` null = unknown rank/shape (allowed for outputs and loop-body values). */
export function valueInfo(
  name: string,
  elem: ElemType,
  dims: readonly number[] | null,
): ValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: ELEM_CODE[elem] };
  if (dims) tensorType.shape = { dim: dims.map((d) => ({ dimValue: d })) };
  return { name, type: { tensorType } };
}

/**
 * Appends ONNX nodes to one graph (the main graph or a `Loop` body). Names are unique across
 * a whole model because nested builders share their root's counter, so a body may refer to an
 * outer value by name (ONNX outer-scope references). Everything is deterministic: the same
 * sequence of calls gives byte-identical protobuf, which the session cache keys on.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private readonly counter: { n: number };
  private readonly constants = new Map<string, string>();

  constructor(readonly parent?: GraphBuilder) {
    this.counter = parent ? parent.counter : { n: 0 };
  }

  fresh(hint: string): string {
    return `${hint}_${this.counter.n++}`;
  }

  /** Appends one node; returns its `nOut` output names. */
  node(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, Attr> = {},
    nOut = 1,
    domain = '',
  ): string[] {
    const outputs = Array.from({ length: nOut }, () => this.fresh(opType.toLowerCase()));
    const attribute = Object.keys(attrs)
      .sort()
      .map((k) => toAttribute(k, attrs[k]));
    this.nodes.push({
      opType,
      input: [...inputs],
      output: outputs,
      attribute,
      domain,
      name: outputs[0],
    });
    return outputs;
  }

  /** A single-output node. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    return this.node(opType, inputs, attrs)[0];
  }

  /**
   * A constant tensor as a `Constant` node (legal inside subgraphs, unlike initializers); equal
   * constants are emitted once per graph.
   */
  constant(
    elem: 'f32' | 'i64' | 'i32',
    values: readonly number[],
    dims: readonly number[],
  ): string {
    const key = `${elem}|${dims.join(',')}|${values.join(',')}`;
    const known = this.constants.get(key);
    if (known !== undefined) return known;
    const t: onnxProto.onnx.ITensorProto = { dims: [...dims], dataType: ELEM_CODE[elem] };
    if (elem === 'f32') t.floatData = [...values];
    else if (elem === 'i32') t.int32Data = [...values];
    else t.int64Data = [...values];
    const [out] = this.node('Constant', [], {});
    this.nodes[this.nodes.length - 1].attribute = [
      { name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t },
    ];
    this.constants.set(key, out);
    return out;
  }

  scalarF32(x: number): string {
    return this.constant('f32', [x], []);
  }

  /** A 1-D int64 constant (shapes, axes, slice bounds). */
  i64(values: readonly number[]): string {
    return this.constant('i64', values, [values.length]);
  }

  reshape(x: string, shape: readonly number[]): string {
    return this.op('Reshape', [x, this.i64(shape)]);
  }

  transpose(x: string, perm: readonly number[]): string {
    return this.op('Transpose', [x], { perm: ints(perm) });
  }

  /** x[..., start:end] along `axis`. */
  slice(x: string, axis: number, start: number, end: number): string {
    return this.op('Slice', [x, this.i64([start]), this.i64([end]), this.i64([axis])]);
  }

  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.op('ReduceSum', [x, this.i64(axes)], { keepdims: int(keepdims ? 1 : 0) });
  }

  reduceMax(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.op('ReduceMax', [x], { axes: ints(axes), keepdims: int(keepdims ? 1 : 0) });
  }

  cast(x: string, to: ElemType): string {
    return this.op('Cast', [x], { to: int(ELEM_CODE[to]) });
  }

  addInput(name: string, elem: ElemType, dims: readonly number[] | null): void {
    this.inputs.push(valueInfo(name, elem, dims));
  }

  addOutput(name: string, elem: ElemType, dims: readonly number[] | null): void {
    this.outputs.push(valueInfo(name, elem, dims));
  }

  toGraph(name: string): GraphProto {
    return { name, node: this.nodes, input: this.inputs, output: this.outputs };
  }
}

/** opset 17: every op used here is standard ai.onnx with CPU and CUDA kernels. */
export const OPSET = 17;

export function serializeModel(main: GraphBuilder): Uint8Array {
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'oneshot-em',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: main.toGraph('main'),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
