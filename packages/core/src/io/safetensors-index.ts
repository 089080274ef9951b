import * as fs from 'node:fs';
import * as path from 'node:path';
import { chunkBytesOf, type FileIo } from './file-io.js';
import { assertDirectory, assertRegularFile } from './regular-file.js';
import { type RawTensor, SafetensorsFile } from './safetensors.js';
import { SafetensorsError, type TensorInfo, type TensorLayout } from './safetensors-header.js';
import {
  SafetensorsWriter,
  type TensorSource,
  type TensorToWrite,
  tensorBytes,
} from './safetensors-writer.js';

/**
 * A set of tensors as Hugging Face stores a model's weights: one `<prefix>.safetensors`, or
 * shards `<prefix>-0000i-of-0000n.safetensors` listed by `<prefix>.safetensors.index.json`
 * (`{metadata: {total_size}, weight_map: {tensor: shard file}}`). The model's prefix is
 * `model`; a checkpoint's optimizer state and master weights are sets of their own.
 */

export const MODEL_PREFIX = 'model';
export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
/** transformers refuses safetensors metadata whose `format` is not a known framework. */
export const PT_METADATA = { format: 'pt' };

export const singleFileName = (prefix: string) => `${prefix}.safetensors`;
export const indexFileName = (prefix: string) => `${prefix}.safetensors.index.json`;

/** Whether `dir` holds the set `prefix` (single file or index). */
export function hasSafetensorsSet(dir: string, prefix: string): boolean {
  return (
    fs.existsSync(path.join(dir, singleFileName(prefix))) ||
    fs.existsSync(path.join(dir, indexFileName(prefix)))
  );
}

/** The tensors of a model directory across its files, each read on demand. */
export class SafetensorsModel {
  private constructor(
    readonly dir: string,
    private readonly files: SafetensorsFile[],
    private readonly where: Map<string, SafetensorsFile>,
  ) {}

  /** Tensor names in file order (single file) or index order (sharded). */
  get names(): string[] {
    return [...this.where.keys()];
  }

  /** The tensor's header entry and the file it lives in. */
  info(name: string): TensorInfo & { file: string } {
    const f = this.fileOf(name);
    return { ...f.info(name), file: f.path };
  }

  readF32(name: string): Float32Array {
    return this.fileOf(name).readF32(name);
  }

  readRaw(name: string): RawTensor {
    return this.fileOf(name).readRaw(name);
  }

  close(): void {
    for (const f of this.files) f.close();
  }

  /**
   * Opens `dir/<prefix>.safetensors`, or the shards its index lists; validates every header.
   * (`SafetensorsModel` names the model's set, the default; other sets open the same way.)
   */
  static open(dir: string, prefix = MODEL_PREFIX, io?: FileIo): SafetensorsModel {
    assertDirectory(dir, 'a model directory');
    const single = path.join(dir, singleFileName(prefix));
    if (fs.existsSync(single)) {
      const f = SafetensorsFile.open(single, io);
      return new SafetensorsModel(dir, [f], new Map([...f.tensors.keys()].map((n) => [n, f])));
    }
    const indexName = indexFileName(prefix);
    const indexPath = path.join(dir, indexName);
    if (!fs.existsSync(indexPath)) {
      throw new SafetensorsError(
        'missing_file',
        dir,
        `no ${singleFileName(prefix)} and no ${indexName} in this directory`,
      );
    }
    const weightMap = readWeightMap(indexPath);
    const byFile = new Map<string, SafetensorsFile>();
    const where = new Map<string, SafetensorsFile>();
    try {
      for (const [name, shard] of Object.entries(weightMap)) {
        let f = byFile.get(shard);
        if (f === undefined) {
          const shardPath = path.join(dir, shard);
          if (!fs.existsSync(shardPath)) {
            throw new SafetensorsError(
              'missing_file',
              indexPath,
              `weight_map names shard "${shard}", which does not exist`,
              name,
            );
          }
          f = SafetensorsFile.open(shardPath, io);
          byFile.set(shard, f);
        }
        if (!f.tensors.has(name)) {
          throw new SafetensorsError(
            'missing_tensor',
            f.path,
            `listed in ${indexName} but absent from this shard`,
            name,
          );
        }
        where.set(name, f);
      }
      for (const f of byFile.values()) {
        for (const name of f.tensors.keys()) {
          if (where.get(name) !== f) {
            throw new SafetensorsError(
              where.has(name) ? 'duplicate_tensor' : 'unexpected_tensor',
              f.path,
              where.has(name)
                ? `also stored in ${where.get(name)?.path}; ${indexName} maps it there`
                : `stored in this shard but not listed in ${indexName}`,
              name,
            );
          }
        }
      }
    } catch (e) {
      for (const f of byFile.values()) f.close();
      throw e;
    }
    return new SafetensorsModel(dir, [...byFile.values()], where);
  }

  private fileOf(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (f === undefined)
      throw new SafetensorsError('missing_tensor', this.dir, 'not in this model', name);
    return f;
  }
}

function readWeightMap(indexPath: string): Record<string, string> {
  let json: unknown;
  assertRegularFile(indexPath, 'a safetensors index');
  try {
    json = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
  } catch (e) {
    throw new SafetensorsError(
      'invalid_header',
      indexPath,
      `not valid JSON (${(e as Error).message})`,
    );
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new SafetensorsError(
      'invalid_header',
      indexPath,
      'weight_map: expected an object {tensor name: shard file}',
    );
  }
  for (const [name, shard] of Object.entries(map)) {
    if (
      typeof shard !== 'string' ||
      shard !== path.basename(shard) ||
      shard === '..' ||
      !shard.endsWith('.safetensors')
    ) {
      throw new SafetensorsError(
        'invalid_header',
        indexPath,
        `weight_map: expected a .safetensors file name in this directory, got ${JSON.stringify(shard)}`,
        name,
      );
    }
  }
  return map as Record<string, string>;
}

function shardName(prefix: string, i: number, n: number): string {
  const pad = (k: number) => String(k).padStart(5, '0');
  return `${prefix}-${pad(i + 1)}-of-${pad(n)}.safetensors`;
}

/**
 * Splits tensors into shards as huggingface_hub's split_torch_state_dict_into_shards does:
 * in order, a new shard starts where the next tensor would pass `maxShardSize` bytes; a
 * tensor larger than the limit gets a shard of its own, placed when it is met.
 */
export function planShards<T extends TensorLayout>(
  tensors: readonly T[],
  maxShardSize = Number.POSITIVE_INFINITY,
): T[][] {
  const shards: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const t of tensors) {
    const bytes = tensorBytes(t);
    if (bytes > maxShardSize) {
      shards.push([t]);
      continue;
    }
    if (current.length > 0 && currentBytes + bytes > maxShardSize) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(t);
    currentBytes += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

export interface SafetensorsSetOptions {
  /** Shard past this many bytes of tensor data (default: never; HF's `max_shard_size`). */
  maxShardSize?: number;
  /** `__metadata__` of every file (the model's set: `{format: 'pt'}`). */
  metadata?: Record<string, string>;
  io?: FileIo;
}

/**
 * The set writer as a generator: it yields each tensor when its turn comes and is sent the
 * tensor's data, so one body serves the synchronous and the asynchronous drivers below.
 */
function* setWriteSteps(
  dir: string,
  prefix: string,
  tensors: readonly TensorToWrite[],
  options: SafetensorsSetOptions,
): Generator<TensorToWrite, string[], TensorSource> {
  const shards = planShards(tensors, options.maxShardSize);
  const single = shards.length === 1;
  const files = shards.map((_, i) =>
    single ? singleFileName(prefix) : shardName(prefix, i, shards.length),
  );
  const weightMap: Record<string, string> = {};
  const shardOf = new Map<string, number>();
  for (const [i, shard] of shards.entries()) {
    for (const t of shard) {
      shardOf.set(t.name, i);
      weightMap[t.name] = files[i];
    }
  }
  // one conversion buffer for the whole set, however many shards are open
  let scratch: Uint16Array | undefined;
  const shared = () => {
    scratch ??= new Uint16Array(chunkBytesOf(options.io) / 2);
    return scratch;
  };
  // Tensors are taken in the caller's order (so sets can be written in lockstep), though HF
  // places an oversized tensor's shard out of that order: a shard is opened at its first
  // tensor and closed after its last, so at most two are open (a run and an oversized one).
  const open = new Map<number, SafetensorsWriter>();
  const left = shards.map((shard) => shard.length);
  const create = (i: number) =>
    SafetensorsWriter.create(
      path.join(dir, files[i]),
      shards[i],
      options.metadata,
      options.io,
      shared,
    );
  try {
    for (const [i, n] of left.entries()) if (n === 0) create(i).close();
    for (const t of tensors) {
      const i = shardOf.get(t.name) as number;
      let w = open.get(i);
      if (w === undefined) {
        w = create(i);
        open.set(i, w);
      }
      w.write(t.name, yield t);
      if (--left[i] === 0) {
        open.delete(i);
        w.close();
      }
    }
  } catch (e) {
    for (const w of open.values()) w.abandon();
    throw e;
  }
  if (single) return files;
  // transformers writes the index with sorted keys, two-space indent and a final newline
  const sorted = Object.fromEntries(
    Object.keys(weightMap)
      .sort()
      .map((k) => [k, weightMap[k]]),
  );
  const total = tensors.reduce((n, t) => n + tensorBytes(t), 0);
  const index = { metadata: { total_size: total }, weight_map: sorted };
  const indexPath = path.join(dir, indexFileName(prefix));
  const fd = fs.openSync(indexPath, 'w');
  try {
    fs.writeFileSync(fd, `${JSON.stringify(index, null, 2)}\n`);
  } catch (e) {
    throw new Error(`${indexPath}: write failed: ${(e as Error).message}`, { cause: e });
  } finally {
    fs.closeSync(fd);
  }
  return [...files, indexFileName(prefix)];
}

/**
 * Writes `tensors` into `dir` as `<prefix>.safetensors` when their data fits in one shard,
 * else as shards plus the index (see planShards). Every tensor's `read` must be synchronous.
 * Returns the files written.
 */
export function writeSafetensorsSet(
  dir: string,
  prefix: string,
  tensors: readonly TensorToWrite[],
  options: SafetensorsSetOptions = {},
): string[] {
  const steps = setWriteSteps(dir, prefix, tensors, options);
  let r = steps.next();
  while (!r.done) {
    const source = r.value.read();
    if (source instanceof Promise) {
      const e = new Error(
        `tensor "${r.value.name}" reads asynchronously; use writeSafetensorsSetAsync`,
      );
      steps.throw(e); // closes the open shard file and rethrows
      throw e;
    }
    r = steps.next(source);
  }
  return r.value;
}

/** writeSafetensorsSet for tensors read asynchronously (from a backend), one at a time. */
export async function writeSafetensorsSetAsync(
  dir: string,
  prefix: string,
  tensors: readonly TensorToWrite[],
  options: SafetensorsSetOptions = {},
): Promise<string[]> {
  const [files] = await writeSafetensorsSetsAsync(dir, [{ prefix, tensors, options }]);
  return files;
}

export interface SetToWrite {
  prefix: string;
  tensors: readonly TensorToWrite[];
  options?: SafetensorsSetOptions;
}

/**
 * Sets that hold the same tensors (same names, same order) in different dtypes or shardings —
 * a bf16 model and its f32 master weights — written in one pass: each tensor is read once
 * (through the first set's `read`) and handed to every set, so a backend reads it once.
 * Returns each set's files.
 */
export async function writeSafetensorsSetsAsync(
  dir: string,
  sets: readonly SetToWrite[],
): Promise<string[][]> {
  const steps = sets.map((s) => setWriteSteps(dir, s.prefix, s.tensors, s.options ?? {}));
  try {
    let rs = steps.map((g) => g.next());
    for (;;) {
      const first = rs[0];
      if (first.done) break;
      const t = first.value;
      if (rs.some((r) => r.done || r.value.name !== t.name)) {
        throw new Error(
          `sets ${sets.map((x) => x.prefix).join(', ')} written together must list the same tensors in the same order (at "${t.name}")`,
        );
      }
      const source = await t.read();
      rs = steps.map((g) => g.next(source));
    }
    const files: string[][] = [];
    for (const r of rs) {
      if (!r.done) throw new Error(`set ${sets[0].prefix} ended before the others`);
      files.push(r.value);
    }
    return files;
  } catch (e) {
    // throwing into a suspended set closes its open shard file; a finished one just rethrows
    for (const g of steps) {
      try {
        g.throw(e);
      } catch {}
    }
    throw e;
  }
}

/** The model's weights as `model.safetensors` or shards + index (HF's names and metadata). */
export function writeSafetensorsModel(
  dir: string,
  tensors: readonly TensorToWrite[],
  maxShardSize = Number.POSITIVE_INFINITY,
  io?: FileIo,
): string[] {
  return writeSafetensorsSet(dir, MODEL_PREFIX, tensors, {
    maxShardSize,
    metadata: PT_METADATA,
    io,
  });
}
