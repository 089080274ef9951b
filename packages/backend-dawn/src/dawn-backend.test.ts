import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { createDawnBackend } from './dawn-backend.js';
import { readF, useDawn } from './testing/harness.js';

describe('Dawn backend: data movement, handles, transfers', () => {
  const h = useDawn();

  it('uploads and reads f32 and i32 tensors, counting every transfer', async (ctx) => {
    const d = h.dawn(ctx);
    const before = d.transfers();
    const f = randomFloats(13, 1);
    const i = Int32Array.from([3, -1, 7]);
    const tf = d.upload(f, [13]);
    const ti = d.upload(i, [3]);
    expect(ti.dtype).toBe('i32');
    expectClose('f32 round trip', await readF(d, tf), f, { abs: 0 });
    expect([...(await d.read(ti))]).toEqual([3, -1, 7]);
    const after = d.transfers();
    expect(after.uploads - before.uploads).toBe(2);
    expect(after.reads - before.reads).toBe(2);
    expect(after.bytesUp - before.bytesUp).toBe(16 * 4);
    expect(after.bytesDown - before.bytesDown).toBe(16 * 4);
  });

  it('ops keep data on the GPU: a chain of ops transfers nothing until read', async (ctx) => {
    const d = h.dawn(ctx);
    const x = d.upload(randomFloats(64, 2), [8, 8]);
    const before = d.transfers();
    let y = x;
    for (let k = 0; k < 10; k++) y = d.matmul(d.scale(y, 0.5), x);
    const z = d.sumSquares(y);
    expect(d.transfers()).toEqual(before);
    await d.sync();
    expect(d.transfers()).toEqual(before);
    await d.read(z);
    expect(d.transfers().reads).toBe(before.reads + 1);
  });

  it('zeros, dispose, pool reuse and use-after-dispose errors', async (ctx) => {
    const d = h.dawn(ctx);
    const live = d.liveBuffers();
    const z = d.zeros([5, 7]);
    expect([...(await readF(d, z))]).toEqual(new Array(35).fill(0));
    const zi = d.zeros([4], 'i32');
    expect([...(await d.read(zi))]).toEqual([0, 0, 0, 0]);
    d.dispose(z);
    d.dispose(zi);
    expect(d.liveBuffers()).toBe(live);
    expect(() => d.scale(z, 2)).toThrow(/was used after dispose\(\)/);
    // a reused pooled buffer comes back zeroed by zeros()
    const dirty = d.upload(randomFloats(35, 3), [5, 7]);
    d.dispose(dirty);
    await d.sync();
    expect([...(await readF(d, d.zeros([5, 7])))]).toEqual(new Array(35).fill(0));
  });

  it('rejects tensors from another backend', async (ctx) => {
    const d = h.dawn(ctx);
    const foreign = h.ref.upload(new Float32Array(4), [4]);
    expect(() => d.scale(foreign, 1)).toThrow(/not a Dawn tensor/);
  });

  it('a disposed input whose buffer is reused by a later upload does not corrupt queued work', async (ctx) => {
    const d = h.dawn(ctx);
    const a = d.upload(Float32Array.from([1, 2, 3, 4]), [4]);
    const doubled = d.scale(a, 2); // queued, not yet submitted
    d.dispose(a);
    const b = d.upload(Float32Array.from([9, 9, 9, 9]), [4]); // may reuse a's buffer after the next submit only
    expect([...(await readF(d, doubled))]).toEqual([2, 4, 6, 8]);
    expect([...(await readF(d, b))]).toEqual([9, 9, 9, 9]);
  });

  it('debug mode validates after every dispatch', async (ctx) => {
    h.dawn(ctx);
    const dbg = await createDawnBackend({ debug: true });
    const x = dbg.upload(Float32Array.from([1, 2]), [2]);
    expect([...(await readF(dbg, dbg.add(x, x)))]).toEqual([2, 4]);
    await dbg.destroy();
  });
});
