import { describe, it } from 'vitest';
import { expectClose, randomFloats, readF, useDawn } from '../../testing/harness.js';

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
    expectClose(await readF(d, dc), await readF(h.ref, rc), { abs: 0 }, 'cache after writes');
    expectClose(
      await readF(d, d.kvCachePrefix(dc, 6)),
      await readF(h.ref, h.ref.kvCachePrefix(rc, 6)),
      { abs: 0 },
      'prefix',
    );
  });
});
