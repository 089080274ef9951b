import type { VocabStatName } from '@oneshot-em/core';
import { type GraphBuilder, int } from '../builder.js';

/**
 * Per-row pieces shared by the statistics and their gradient, for logits z [N, V] at
 * temperature T: a = z/T, p = softmax(a) (max-subtracted), and the mask of finite entries
 * (−∞ marks masked vocabulary: p = 0, left out of ez and mz; see core's objectives/vocab-stats.ts).
 */
function prepare(b: GraphBuilder, logits: string, temperature: number) {
  const a = b.op('Mul', [logits, b.scalarF32(1 / temperature)]);
  const finite = b.op('Not', [
    b.op('IsInf', [a], { detect_negative: int(1), detect_positive: int(0) }),
  ]);
  const m = b.reduceMax(a, [1], true);
  const e = b.op('Exp', [b.op('Sub', [a, m])]);
  const sum = b.reduceSum(e, [1], true);
  const p = b.op('Div', [e, sum]);
  const aFinite = b.op('Where', [finite, a, b.scalarF32(0)]);
  return { a, aFinite, finite, m, sum, p };
}

/** onehot [N, V] f32 of the targets [N] i32. */
function oneHot(b: GraphBuilder, targets: string, n: number, vocab: number): string {
  const ids = b.op('Range', [
    b.constant('i32', [0], []),
    b.constant('i32', [vocab], []),
    b.constant('i32', [1], []),
  ]);
  return b.cast(b.op('Equal', [b.reshape(ids, [1, vocab]), b.reshape(targets, [n, 1])]), 'f32');
}

/** logits [N, V], targets [N] → stats [N, S] in `stats` order (each column [N, 1], then Concat). */
export function emitVocabStats(
  b: GraphBuilder,
  logits: string,
  targets: string,
  n: number,
  temperature: number,
  stats: readonly VocabStatName[],
): string {
  const r = prepare(b, logits, temperature);
  const columns = stats.map((s) => {
    switch (s) {
      case 'lse':
        return b.op('Add', [r.m, b.op('Log', [r.sum])]);
      case 'ez':
        return b.reduceSum(b.op('Mul', [r.p, r.aFinite]), [1], true);
      case 'zy':
        return b.op('GatherElements', [r.a, b.reshape(targets, [n, 1])], { axis: int(1) });
      case 'mz': {
        const count = b.reduceSum(b.cast(r.finite, 'f32'), [1], true);
        return b.op('Div', [b.reduceSum(r.aFinite, [1], true), count]);
      }
      case 's2':
        return b.reduceSum(b.op('Mul', [r.p, r.p]), [1], true);
      default:
        throw new Error(`vocabStats: unknown statistic '${s}'`);
    }
  });
  return columns.length === 1 ? columns[0] : b.op('Concat', columns, { axis: int(1) });
}

/**
 * dL/dz [N, V] = Σ_s coeffs[:, s] · dstat_s/dz, from the statistic values the forward gave:
 * (p/T)·(c_lse + c_ez·(1 + a − ez) + 2·c_s2·(p − s2)) + c_zy·onehot(y)/T + c_mz·finite/(V'T).
 */
export function emitVocabGrad(
  b: GraphBuilder,
  logits: string,
  targets: string,
  statValues: string,
  coeffs: string,
  n: number,
  vocab: number,
  temperature: number,
  stats: readonly VocabStatName[],
): string {
  const r = prepare(b, logits, temperature);
  const col = (x: string, i: number) => b.slice(x, 1, i, i + 1);
  const invT = b.scalarF32(1 / temperature);
  let pTerm: string | null = null;
  let extra: string | null = null;
  const addTo = (acc: string | null, t: string) => (acc === null ? t : b.op('Add', [acc, t]));
  stats.forEach((s, i) => {
    const c = col(coeffs, i);
    const value = col(statValues, i);
    switch (s) {
      case 'lse':
        pTerm = addTo(pTerm, c);
        break;
      case 'ez': {
        const inner = b.op('Sub', [b.op('Add', [b.scalarF32(1), r.aFinite]), value]);
        pTerm = addTo(pTerm, b.op('Mul', [c, inner]));
        break;
      }
      case 's2':
        pTerm = addTo(
          pTerm,
          b.op('Mul', [b.op('Mul', [b.scalarF32(2), c]), b.op('Sub', [r.p, value])]),
        );
        break;
      case 'zy':
        extra = addTo(extra, b.op('Mul', [oneHot(b, targets, n, vocab), b.op('Mul', [c, invT])]));
        break;
      case 'mz': {
        const finiteF = b.cast(r.finite, 'f32');
        const count = b.reduceSum(finiteF, [1], true);
        const perEntry = b.op('Div', [b.op('Mul', [c, invT]), count]);
        extra = addTo(extra, b.op('Mul', [finiteF, perEntry]));
        break;
      }
    }
  });
  let dz: string | null = pTerm === null ? null : b.op('Mul', [b.op('Mul', [r.p, invT]), pTerm]);
  if (extra !== null) dz = dz === null ? extra : b.op('Add', [dz, extra]);
  if (dz === null) throw new Error('vocabGrad: no statistics requested');
  // Shapes broadcast to [N, V] in every branch except a lone zy/mz column, which already is.
  return dz;
}
