import { parseByteSize } from '../train/byte-size.js';

/**
 * `--max-shard-size` as Hugging Face's `save_pretrained(max_shard_size=…)` reads it: a byte
 * count, or a number with a unit — KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers of
 * 1024 (units case-insensitive; "5GB" = 5·10⁹ bytes, "2GiB" = 2·2³⁰). The parser is the one of
 * every size flag (train/byte-size.ts); only the examples in the error are a shard's.
 */
export const DEFAULT_MAX_SHARD_SIZE = '5GB';

/** Bytes of a shard size; `what` names the flag or key in the error. */
export function parseShardSize(size: string | number, what = '--max-shard-size'): number {
  let bytes = 0;
  try {
    bytes = parseByteSize(size, what);
  } catch {
    // reported below with a shard's examples
  }
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new Error(
      `${what}: expected a positive size such as 500MB, 5GB, 2GiB, 100KB or a byte count, got ${JSON.stringify(size)}`,
    );
  }
  return bytes;
}
