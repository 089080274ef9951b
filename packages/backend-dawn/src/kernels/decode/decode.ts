import type { Tensor } from '@oneshot-em/core';
import type { DecodeLoopOps } from '../../generate.js';
import { buf, ceilDiv, type KernelContext, numel } from '../../runtime/context.js';
import { family, wgsl } from '../kernel.js';
import { copyRows } from '../kv-cache/kv-cache.js';

export const decode = family(
  'decode',
  wgsl(import.meta.url, './decode.wgsl'),
  {
    params: [
      ['b', 'u32'],
      ['step', 'u32'],
      ['pad', 'i32'],
      ['n_eos', 'u32'],
    ],
    bindings: {
      next: [1, 'read', 'i32'],
      eos: [2, 'read', 'i32'],
      current: [3, 'read_write', 'i32'],
      positions: [4, 'read_write', 'i32'],
      done_at: [5, 'read_write', 'i32'],
      history: [6, 'read_write', 'i32'],
    },
  },
  { advance: { uses: ['next', 'eos', 'current', 'positions', 'done_at', 'history'] } },
);

/** The GPU side of generate.ts's loop. */
export function decodeLoopOps(ctx: KernelContext): DecodeLoopOps {
  return {
    maskPrefix(mask: Tensor, length: number): Tensor {
      const [B, Smax] = mask.shape;
      const out = ctx.alloc([B, length], 'i32');
      copyRows(ctx, buf(mask, 'mask'), buf(out, ''), {
        b: B,
        rows: length,
        x: 1,
        src_len: Smax,
        src_start: 0,
        dst_len: length,
        dst_start: 0,
      });
      return out;
    },
    advance(t, p) {
      const B = numel(t.next.shape);
      ctx.queue.dispatch(
        decode.advance,
        { b: B, step: p.step, pad: p.pad, n_eos: p.eosCount },
        {
          next: buf(t.next, 'next'),
          eos: buf(t.eos, 'eos'),
          current: buf(t.current, 'current'),
          positions: buf(t.positions, 'positions'),
          done_at: buf(t.doneAt, 'doneAt'),
          history: buf(t.history, 'history'),
        },
        ceilDiv(B, 64),
      );
    },
  };
}
