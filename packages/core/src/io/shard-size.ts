/**
 * `--max-shard-size` as Hugging Face's `save_pretrained(max_shard_size=…)` reads it: a byte
 * count, or a number with a unit — KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers of
 * 1024 (units case-insensitive; "5GB" = 5·10⁹ bytes, "2GiB" = 2·2³⁰).
 */
export const DEFAULT_MAX_SHARD_SIZE = '5GB';

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

/** Bytes of a shard size; `what` names the flag or key in the error. */
export function parseShardSize(size: string | number, what = '--max-shard-size'): number {
  const bad = () =>
    new Error(
      `${what}: expected a positive size such as 500MB, 5GB, 2GiB, 100KB or a byte count, got ${JSON.stringify(size)}`,
    );
  if (typeof size === 'number') {
    if (!Number.isSafeInteger(size) || size <= 0) throw bad();
    return size;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(size);
  if (!m) throw bad();
  const unit = m[2] === '' ? 1 : UNITS[m[2].toLowerCase()];
  if (unit === undefined) throw bad();
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw bad();
  return bytes;
}
