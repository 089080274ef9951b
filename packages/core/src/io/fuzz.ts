/**
 * Seeded mutations of valid inputs for the parser fuzz tests (*-fuzz.test.ts): byte flips,
 * truncations, insertions, deletions, duplications, and JSON-level value swaps. Test-only: no
 * package entry point exports it.
 */

/** mulberry32: a small deterministic PRNG, so a failing case is reproducible from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: () => number, n: number) => Math.floor(r() * n);

/** One to four byte-level edits of `input`; `focus` biases edits to its first bytes. */
export function mutateBytes(r: () => number, input: Uint8Array, focus = input.length): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const edits = 1 + int(r, 4);
  for (let e = 0; e < edits; e++) {
    const span = Math.max(1, Math.min(focus, b.length));
    const at = int(r, span);
    switch (int(r, 6)) {
      case 0: // flip bits of one byte
        if (b.length) b[at] ^= 1 << int(r, 8);
        break;
      case 1: // random byte
        if (b.length) b[at] = int(r, 256);
        break;
      case 2: // truncate
        b = b.slice(0, at);
        break;
      case 3: {
        // insert random bytes
        const ins = Uint8Array.from({ length: 1 + int(r, 16) }, () => int(r, 256));
        b = concat(b.slice(0, at), ins, b.slice(at));
        break;
      }
      case 4: // delete a range
        b = concat(b.slice(0, at), b.slice(at + 1 + int(r, 32)));
        break;
      default: {
        // duplicate a range
        const len = 1 + int(r, 64);
        b = concat(b.slice(0, at + len), b.slice(at, at + len), b.slice(at + len));
      }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Values a hostile JSON file might hold where a sane one is expected. */
const HOSTILE: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e9,
  1e12,
  2 ** 53,
  -(2 ** 31),
  '',
  'x',
  '1e9',
  [],
  [1, 2],
  {},
  { a: 1 },
  'a'.repeat(1000),
];

/** A deep copy of `json` with one to three edits: a value replaced, a key deleted, values swapped. */
export function mutateJson(r: () => number, json: unknown): unknown {
  const copy = structuredClone(json);
  const edits = 1 + int(r, 3);
  for (let e = 0; e < edits; e++) {
    const slots = collectSlots(copy);
    if (slots.length === 0) return pick(r, HOSTILE);
    const [parent, key] = pick(r, slots);
    const op = int(r, 4);
    if (op === 0 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key];
    else if (op === 1) {
      const [p2, k2] = pick(r, slots);
      const a = (parent as Record<string, unknown>)[key];
      (parent as Record<string, unknown>)[key] = (p2 as Record<string, unknown>)[k2];
      (p2 as Record<string, unknown>)[k2] = a;
    } else (parent as Record<string, unknown>)[key] = structuredClone(pick(r, HOSTILE));
  }
  return copy;
}

/** Every (container, key) pair of `v`, at most 2000 (sampled evenly from big documents). */
function collectSlots(v: unknown): [object, string][] {
  const out: [object, string][] = [];
  const walk = (x: unknown) => {
    if (x === null || typeof x !== 'object' || out.length > 200_000) return;
    for (const k of Object.keys(x)) {
      out.push([x, k]);
      walk((x as Record<string, unknown>)[k]);
    }
  };
  walk(v);
  if (out.length <= 2000) return out;
  const step = out.length / 2000;
  return Array.from({ length: 2000 }, (_, i) => out[Math.floor(i * step)]);
}

/**
 * Whether `e` is one of our clear errors: an Error naming `source` at the start of its message,
 * not an engine TypeError/RangeError escaping from a parser (that would be a crash).
 */
export function isClearError(e: unknown, source: string): boolean {
  if (!(e instanceof Error)) return false;
  if (e.constructor === TypeError || e.constructor === RangeError) return false;
  return e.message.startsWith(source);
}

/** A test's seed: `base`, or FUZZ_SEED from the environment to explore other cases. */
export function fuzzSeed(base: number): number {
  const env = process.env.FUZZ_SEED;
  return env === undefined || env === '' ? base : Number(env) + base;
}
