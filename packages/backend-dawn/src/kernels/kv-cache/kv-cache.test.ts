import { expectClose, randomFloats } from '@oneshot-em/core/testing';
import { describe, expect, it } from 'vitest';
import { expectTensorClose, readF, useDawn } from '../../testing/harness.js';

describe('KV cache write (in place) and prefix vs the CPU reference', () => {
  const h = useDawn();
  const [B, Smax, X] = [3, 11, 7];

  it('two writes then a prefix', async (ctx) => {
    const d = h.dawn(ctx);
    const first = randomFloats(B * 5 * X, 71);
    const second = randomFloats(B * 1 * X, 72);
    const dc = d.zeros([B, Smax, X]);
    const rc = h.ref.zeros([B, Smax, X]);
    d.kvCacheWrite(dc, d.upload(first, [B * 5, X]), 0);
    d.kvCacheWrite(dc, d.upload(second, [B, X]), 5);
    h.ref.kvCacheWrite(rc, h.ref.upload(first, [B * 5, X]), 0);
    h.ref.kvCacheWrite(rc, h.ref.upload(second, [B, X]), 5);
    await expectTensorClose(h, d, 'cache after writes', dc, rc, { abs: 0 });
    expectClose(
      'prefix',
      await readF(d, d.kvCachePrefix(dc, 6)),
      await readF(h.ref, h.ref.kvCachePrefix(rc, 6)),
      { abs: 0 },
    );
  });

  it('prefix views: attention reads the cache in place; disposing a view keeps the cache; other ops refuse views', async (ctx) => {
    const d = h.dawn(ctx);
    const [b, smax, x] = [2, 9, 8]; // K = 2 kv heads × D = 4
    const len = 6;
    const cacheData = randomFloats(b * smax * x, 73);
    const kc = d.upload(cacheData, [b, smax, x]);
    const vc = d.upload(randomFloats(b * smax * x, 74), [b, smax, x]);
    const kView = d.kvCachePrefix(kc, len);
    const vView = d.kvCachePrefix(vc, len);
    const kDense = d.upload(await readF(d, kView), [b * len, x]);
    const vDense = d.upload(await readF(d, vView), [b * len, x]);
    const o = { heads: 4, kvHeads: 2, headDim: 4, queryOffset: len - 1 };
    const q = d.upload(randomFloats(b * 1 * 16, 75), [b, 16]);
    const mask = d.upload(new Int32Array(b * len).fill(1), [b, len]);
    const viaView = d.attentionForward(q, kView, vView, mask, o);
    const viaDense = d.attentionForward(q, kDense, vDense, mask, o);
    expectClose(
      'attention over a view',
      await readF(d, viaView.out),
      await readF(d, viaDense.out),
      { abs: 0 },
    );
    expect(() => d.scale(kView, 2)).toThrow(/KV-cache view/);
    d.dispose(kView);
    d.dispose(vView);
    expectClose('cache after disposing its view', await readF(d, kc), cacheData, { abs: 0 });
  });
});
