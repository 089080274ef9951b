/**
 * The matmul variants and the rule that picks one (pure, no GPU: runtime/context.ts and the
 * tests import it without the kernels).
 */

/** The optional matmul variants, validated at start-up; tile16 is the baseline every adapter runs. */
export const OPTIONAL_MATMULS = ['gemv', 'gemv4', 'tile64', 'tile128', 'sgmat'] as const;
export type OptionalMatmul = (typeof OPTIONAL_MATMULS)[number];

/** Which optional variants passed validation on this adapter (runtime/variants.ts). */
export type MatmulAvailability = Readonly<Record<OptionalMatmul, boolean>>;

/**
 * 'auto' (default): gemv4 for M ≤ 8 (gemv where gemv4 failed validation), tile64 for M ≥ 64
 * and N ≥ 64, else tile16 — among the variants that passed validation on this adapter. An explicit variant is used wherever it
 * applies (gemv, gemv4: M ≤ 8; tile64: M ≥ 64; tile128: M ≥ 128; sgmat — subgroup matrices,
 * f16 operands, only on adapters with chromium-experimental-subgroup-matrix — M ≥ 64), else
 * tile16. sgmat rounds both operands to f16, so 'auto' never picks it.
 */
export type MatmulVariant = 'auto' | 'tile16' | OptionalMatmul;

/** The most rows the GEMV kernels take (decode at batch ≤ 8). */
export const GEMV_MAX_ROWS = 8;

/** The variant for an [M, K]·[K, N] product. */
export function chooseMatmul(
  requested: MatmulVariant,
  m: number,
  n: number,
  available: MatmulAvailability,
): 'tile16' | OptionalMatmul {
  const fits: Record<OptionalMatmul, boolean> = {
    gemv: m <= GEMV_MAX_ROWS,
    gemv4: m <= GEMV_MAX_ROWS,
    tile64: m >= 64,
    tile128: m >= 128,
    sgmat: m >= 64,
  };
  const usable = (v: OptionalMatmul) => fits[v] && available[v];
  if (requested === 'tile16') return 'tile16';
  if (requested !== 'auto') return usable(requested) ? requested : 'tile16';
  if (usable('gemv4')) return 'gemv4';
  if (usable('gemv')) return 'gemv';
  return usable('tile64') && n >= 64 ? 'tile64' : 'tile16';
}
