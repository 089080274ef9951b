import type { VocabStatName } from '@oneshot-em/core';
import { type GraphBuilder, int, ints } from '../../graph/builder.js';

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

/**
 * Rows per chunk of the statistics graph on the CPU EP: about 2^19 logits (2 MiB) each, so a
 * chunk's intermediates stay in cache and reuse freed heap (the arena is off: a whole-[N, V]
 * intermediate is a fresh mmap, page-faulted per op); at most 256 chunks to bound the graph.
 * `tools/bench --only kernels` measured it (tools/bench/README.md).
 */
export function vocabRowsPerChunk(n: number, vocab: number): number {
  return Math.max(1, Math.floor(2 ** 19 / vocab), Math.ceil(n / 256));
}

/**
 * logits [N, V], targets [N] → stats [N, S] in `stats` order, processed `rowsPerChunk` rows at
 * a time (N: one piece, as a GPU wants it). Per chunk, with m = max z, s = (z − m)/T, e = exp s:
 * lse = m/T + log Σe, ez = m/T + Σ e·s / Σe (s clamped to the lowest float so that a masked −∞
 * entry, where e = 0, adds 0 as in core's objectives/vocab-stats.ts), s2 = Σe² / (Σe)² — one
 * exponential and no normalised softmax materialised.
 */
export function emitVocabStats(
  b: GraphBuilder,
  logits: string,
  targets: string,
  n: number,
  temperature: number,
  stats: readonly VocabStatName[],
  rowsPerChunk: number = n,
): string {
  if (rowsPerChunk >= n) return emitVocabStatsRows(b, logits, targets, n, temperature, stats);
  const parts: string[] = [];
  for (let r = 0; r < n; r += rowsPerChunk) {
    const end = Math.min(n, r + rowsPerChunk);
    const z = b.slice(logits, 0, r, end);
    const y = b.slice(targets, 0, r, end);
    parts.push(emitVocabStatsRows(b, z, y, end - r, temperature, stats));
  }
  return b.op('Concat', parts, { axis: int(0) });
}

const LOWEST_F32 = -3.4028234663852886e38;

function emitVocabStatsRows(
  b: GraphBuilder,
  logits: string,
  targets: string,
  n: number,
  temperature: number,
  stats: readonly VocabStatName[],
): string {
  const invT = b.scalarF32(1 / temperature);
  const m = b.reduceMax(logits, [1], true);
  const mT = b.op('Mul', [m, invT]);
  let e: { s: string; e: string; sum: string } | null = null;
  const exp = () => {
    if (e === null) {
      const s = b.op('Mul', [b.op('Sub', [logits, m]), invT]);
      const ex = b.op('Exp', [s]);
      e = { s, e: ex, sum: b.reduceSum(ex, [1], true) };
    }
    return e;
  };
  const columns = stats.map((stat) => {
    switch (stat) {
      case 'lse':
        return b.op('Add', [mT, b.op('Log', [exp().sum])]);
      case 'ez': {
        const { s, e: ex, sum } = exp();
        const es = b.op('Mul', [ex, b.op('Max', [s, b.scalarF32(LOWEST_F32)])]);
        return b.op('Add', [mT, b.op('Div', [b.reduceSum(es, [1], true), sum])]);
      }
      case 'zy': {
        const zy = b.op('GatherElements', [logits, b.reshape(targets, [n, 1])], { axis: int(1) });
        return b.op('Mul', [zy, invT]);
      }
      case 'mz': {
        const finite = b.op('Not', [
          b.op('IsInf', [logits], { detect_negative: int(1), detect_positive: int(0) }),
        ]);
        const count = b.reduceSum(b.cast(finite, 'f32'), [1], true);
        const zFinite = b.op('Where', [finite, logits, b.scalarF32(0)]);
        return b.op('Div', [b.op('Mul', [b.reduceSum(zFinite, [1], true), invT]), count]);
      }
      case 's2': {
        const { e: ex, sum } = exp();
        const sq = b.op('ReduceSumSquare', [ex], { axes: ints([1]), keepdims: int(1) });
        return b.op('Div', [sq, b.op('Mul', [sum, sum])]);
      }
      default:
        throw new Error(`vocabStats: unknown statistic '${stat}'`);
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
