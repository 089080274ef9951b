import type { VocabStatName } from '@oneshot-em/core';
import { type GraphBuilder, int, ints, str } from '../../graph/builder.js';

/**
 * Rows per chunk of the statistics and gradient graphs on the CPU EP: about 2^19 logits (2 MiB) each, so a
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
 * log p is clamped here in the gradient: far below exp's f32 underflow (about −104), so a clamped
 * entry's p is exactly 0 as it would be anyway, while a masked −∞ logit's log p stays finite (no
 * 0·∞ in p·(… log p …)).
 */
const LOG_P_FLOOR = -1e4;

/**
 * dL/dz [N, V] = Σ_s coeffs[:, s] · dstat_s/dz, from the statistic values the forward gave:
 * (p/T)·(c_lse + c_ez·(1 + a − ez) + 2·c_s2·(p − s2)) + c_zy·onehot(y)/T + c_mz·finite/(V'T),
 * with a = z/T. Processed `rowsPerChunk` rows at a time (N: one piece), each chunk's
 * intermediates [n, V] staying in cache. p = exp(a − lse) from the forward's lse when it has
 * one (every built-in objective: no max or sum pass here), and with a = log p + lse the p-terms
 * are p·(α·log p + γ·p + β) with per-row α, β, γ: no normalised softmax beside p, no one-hot
 * (the zy term is a ScatterElements add at the targets), five to seven element-wise passes.
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
  rowsPerChunk: number = n,
): string {
  if (stats.length === 0) throw new Error('vocabGrad: no statistics requested');
  for (const s of stats)
    if (!['lse', 'ez', 'zy', 'mz', 's2'].includes(s))
      throw new Error(`vocabGrad: unknown statistic '${s}'`);
  const rows = (z: string, y: string, v: string, c: string, count: number) =>
    emitVocabGradRows(b, z, y, v, c, count, vocab, temperature, stats);
  if (rowsPerChunk >= n) return rows(logits, targets, statValues, coeffs, n);
  const parts: string[] = [];
  for (let r = 0; r < n; r += rowsPerChunk) {
    const end = Math.min(n, r + rowsPerChunk);
    const [z, y, v, c] = [logits, targets, statValues, coeffs].map((x) => b.slice(x, 0, r, end));
    parts.push(rows(z, y, v, c, end - r));
  }
  return b.op('Concat', parts, { axis: int(0) });
}

function emitVocabGradRows(
  b: GraphBuilder,
  z: string,
  targets: string,
  values: string,
  coeffs: string,
  n: number,
  vocab: number,
  temperature: number,
  stats: readonly VocabStatName[],
): string {
  const invT = b.scalarF32(1 / temperature);
  const col = (x: string, i: number) => b.slice(x, 1, i, i + 1);
  const sum = (acc: string | null, t: string) => (acc === null ? t : b.op('Add', [acc, t]));
  const a = b.op('Mul', [z, invT]);
  const lseAt = stats.indexOf('lse');
  let lse: string;
  if (lseAt >= 0) lse = col(values, lseAt);
  else {
    const m = b.reduceMax(a, [1], true);
    const e = b.op('Exp', [b.op('Sub', [a, m])]);
    lse = b.op('Add', [m, b.op('Log', [b.reduceSum(e, [1], true)])]);
  }
  // per-row coefficients of the p-terms, already divided by T
  let alpha: string | null = null; // × log p
  let gamma: string | null = null; // × p
  let beta: string | null = null; // × 1
  let zy: string | null = null;
  let mz: string | null = null;
  for (const [i, s] of stats.entries()) {
    const cT = b.op('Mul', [col(coeffs, i), invT]);
    const value = col(values, i);
    switch (s) {
      case 'lse':
        beta = sum(beta, cT);
        break;
      case 'ez': // c·(1 + a − ez) = c·log p + c·(1 + lse − ez)
        alpha = sum(alpha, cT);
        beta = sum(
          beta,
          b.op('Mul', [cT, b.op('Sub', [b.op('Add', [b.scalarF32(1), lse]), value])]),
        );
        break;
      case 's2': {
        const c2 = b.op('Mul', [b.scalarF32(2), cT]);
        gamma = sum(gamma, c2);
        beta = sum(beta, b.op('Neg', [b.op('Mul', [c2, value])]));
        break;
      }
      case 'zy':
        zy = sum(zy, cT);
        break;
      case 'mz':
        mz = sum(mz, cT);
        break;
    }
  }
  let dz: string | null = null;
  if (beta !== null || alpha !== null || gamma !== null) {
    const logP = b.op('Max', [b.op('Sub', [a, lse]), b.scalarF32(LOG_P_FLOOR)]);
    const p = b.op('Exp', [logP]);
    let inner: string | null = null;
    if (alpha !== null) inner = sum(inner, b.op('Mul', [logP, alpha]));
    if (gamma !== null) inner = sum(inner, b.op('Mul', [p, gamma]));
    if (beta !== null) inner = sum(inner, beta);
    dz = b.op('Mul', [p, inner as string]);
  }
  if (mz !== null) {
    // c_mz·finite/(V'T): the mean over the V' finite logits
    const finite = b.cast(
      b.op('Not', [b.op('IsInf', [z], { detect_negative: int(1), detect_positive: int(0) })]),
      'f32',
    );
    const perEntry = b.op('Div', [mz, b.reduceSum(finite, [1], true)]);
    dz = sum(dz, b.op('Mul', [finite, perEntry]));
  }
  if (zy !== null) {
    // ConstantOfShape's default value is an f32 zero
    const base = dz ?? b.op('ConstantOfShape', [b.i64([n, vocab])]);
    dz = b.op('ScatterElements', [base, b.reshape(targets, [n, 1]), zy], {
      axis: int(1),
      reduction: str('add'),
    });
  }
  return dz as string;
}
