import { randomFloats, testAdamwParams } from '@oneshot-em/core/testing';
import { describe, it } from 'vitest';
import { expectTensorClose, useDawn } from '../../testing/harness.js';

describe('optimizer updates (in place) vs the CPU reference', () => {
  const h = useDawn();
  const n = 1003;
  const param = randomFloats(n, 61);
  const grad = randomFloats(n, 62, 0.1);

  it('three AdamW steps update param, m and v like torch', async (ctx) => {
    const d = h.dawn(ctx);
    const dt = [d.upload(param, [n]), d.zeros([n]), d.zeros([n])];
    const rt = [h.ref.upload(param, [n]), h.ref.zeros([n]), h.ref.zeros([n])];
    for (let step = 1; step <= 3; step++) {
      const p = testAdamwParams(step);
      d.adamwUpdate(dt[0], d.upload(grad, [n]), dt[1], dt[2], p);
      h.ref.adamwUpdate(rt[0], h.ref.upload(grad, [n]), rt[1], rt[2], p);
    }
    for (const [i, name] of ['param', 'm', 'v'].entries()) {
      await expectTensorClose(h, d, `adamw ${name}`, dt[i], rt[i], {
        abs: 1e-6,
        rel: 1e-5,
      });
    }
  });

  it('SGD with weight decay and grad scale', async (ctx) => {
    const d = h.dawn(ctx);
    const p = { lr: 0.1, weightDecay: 0.01, gradScale: 0.7 };
    const dp = d.upload(param, [n]);
    const rp = h.ref.upload(param, [n]);
    d.sgdUpdate(dp, d.upload(grad, [n]), p);
    h.ref.sgdUpdate(rp, h.ref.upload(grad, [n]), p);
    await expectTensorClose(h, d, 'sgd', dp, rp, { abs: 1e-6, rel: 1e-6 });
  });
});
