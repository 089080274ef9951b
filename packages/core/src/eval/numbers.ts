// Plain numbers in answers: decimals, thousands separators, scientific notation
// (`4.5e33`, `3.83 \times 10^{35}`), compared with a relative tolerance.

const DECIMAL = String.raw`-?(?:\d+(?:\.\d*)?|\.\d+)`;
const PLAIN = new RegExp(`^${DECIMAL}$`);
const E_NOTATION = new RegExp(`^(${DECIMAL})[eE]([-+]?\\d+)$`);
const TIMES_TEN = new RegExp(
  String.raw`^(${DECIMAL})(?:\\times|\\cdot|\*|x)10\^(?:\{([-+]?\d+)\}|(\d))$`,
);

/** The value of a normalised answer that is a plain number, else `undefined`. */
export function parseNumber(normalized: string): number | undefined {
  let s = normalized.replace(/\s/g, '');
  if (/^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  if (PLAIN.test(s)) return Number(s);
  const e = E_NOTATION.exec(s);
  if (e) return Number(`${e[1]}e${e[2]}`);
  const t = TIMES_TEN.exec(s);
  if (t) return Number(`${t[1]}e${t[2] ?? t[3]}`);
  return undefined;
}

/** `|a − b| ≤ relTol · max(|a|, |b|)`, as Python's `math.isclose` without an absolute floor. */
export function numbersClose(a: number, b: number, relTol = 1e-4): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= relTol * Math.max(Math.abs(a), Math.abs(b));
}
