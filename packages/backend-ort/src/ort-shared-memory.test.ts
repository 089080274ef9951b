import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, serializeModel } from './graph/builder.js';

// The host optimizer (core's train/host-optimizer) stages parameters and gradients through
// worker memory instead of sharing them; this is why.
describe('onnxruntime-node and shared memory (why the pool copies parameters and gradients)', () => {
  it('rejects a SharedArrayBuffer-backed input tensor', async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'f32', [4]);
    const y = b.op('Neg', ['x']);
    b.addOutput(y, 'f32', [4]);
    const s = await ort.InferenceSession.create(serializeModel(b));
    const shared = new Float32Array(new SharedArrayBuffer(16));
    await expect(s.run({ x: new ort.Tensor('float32', shared, [4]) })).rejects.toThrow(
      /Invalid argument/,
    );
    // An ordinary buffer works: the failure is the shared memory.
    const r = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [4]) });
    expect(Array.from(r[y].data as Float32Array)).toEqual([-1, -2, -3, -4]);
    await s.release();
  });
});
