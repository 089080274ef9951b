/** Sizes in flags and messages: --device-memory 80GB, 141GiB; "1.84 GiB" in the plan. */

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * "80GB" → 80e9, "141GiB" → 141·2³⁰, "512MiB", "1.5TB", or plain bytes (Hugging Face's
 * convention: KB/MB/GB are powers of ten, KiB/MiB/GiB powers of two). `what` names the flag.
 */
export function parseByteSize(text: string | number, what: string): number {
  if (typeof text === 'number') {
    if (Number.isFinite(text) && text > 0) return Math.floor(text);
    throw new Error(`${what}: expected a positive size, got ${text}`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(text);
  const bytes = m ? Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()] : Number.NaN;
  if (!(bytes > 0) || !Number.isFinite(bytes)) {
    throw new Error(
      `${what}: expected a size such as 80GB, 141GiB or 512MiB (GB = 10⁹ bytes, GiB = 2³⁰), got '${text}'`,
    );
  }
  return Math.floor(bytes);
}

/** Binary units, three significant digits: "1.84 GiB", "512 MiB", "12.0 KiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${v} B`;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}
