import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type RawTensor,
  SafetensorsFile,
  type TensorToWrite,
  tensorBytes,
  writeSafetensors,
} from './safetensors.js';
import { SafetensorsError, type TensorInfo } from './safetensors-header.js';

/**
 * A model's weights as Hugging Face stores them: one `model.safetensors`, or shards
 * `model-0000i-of-0000n.safetensors` listed by `model.safetensors.index.json`
 * (`{metadata: {total_size}, weight_map: {tensor: shard file}}`).
 */

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
/** transformers refuses safetensors metadata whose `format` is not a known framework. */
const METADATA = { format: 'pt' };

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

  /** Opens `dir/model.safetensors`, or the shards its index lists; validates every header. */
  static open(dir: string): SafetensorsModel {
    const single = path.join(dir, SINGLE_FILE);
    if (fs.existsSync(single)) {
      const f = SafetensorsFile.open(single);
      return new SafetensorsModel(dir, [f], new Map([...f.tensors.keys()].map((n) => [n, f])));
    }
    const indexPath = path.join(dir, INDEX_FILE);
    if (!fs.existsSync(indexPath)) {
      throw new SafetensorsError(
        'missing_file',
        dir,
        `no ${SINGLE_FILE} and no ${INDEX_FILE} in this directory`,
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
          f = SafetensorsFile.open(shardPath);
          byFile.set(shard, f);
        }
        if (!f.tensors.has(name)) {
          throw new SafetensorsError(
            'missing_tensor',
            f.path,
            `listed in ${INDEX_FILE} but absent from this shard`,
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
                ? `also stored in ${where.get(name)?.path}; ${INDEX_FILE} maps it there`
                : `stored in this shard but not listed in ${INDEX_FILE}`,
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

function shardName(i: number, n: number): string {
  const pad = (k: number) => String(k).padStart(5, '0');
  return `model-${pad(i + 1)}-of-${pad(n)}.safetensors`;
}

/**
 * Writes `tensors` into `dir` as `model.safetensors` when their data fits in `maxShardBytes`,
 * else as shards (a new shard starts where the next tensor would pass the limit; a tensor
 * larger than the limit gets a shard of its own) plus the index. Returns the files written.
 */
export function writeSafetensorsModel(
  dir: string,
  tensors: readonly TensorToWrite[],
  maxShardBytes = Number.POSITIVE_INFINITY,
): string[] {
  const shards: TensorToWrite[][] = [];
  let current: TensorToWrite[] = [];
  let currentBytes = 0;
  let total = 0;
  for (const t of tensors) {
    const bytes = tensorBytes(t);
    total += bytes;
    if (current.length > 0 && currentBytes + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(t);
    currentBytes += bytes;
  }
  shards.push(current);
  if (shards.length === 1) {
    writeSafetensors(path.join(dir, SINGLE_FILE), tensors, METADATA);
    return [SINGLE_FILE];
  }
  const weightMap: Record<string, string> = {};
  const files = shards.map((shard, i) => {
    const name = shardName(i, shards.length);
    writeSafetensors(path.join(dir, name), shard, METADATA);
    for (const t of shard) weightMap[t.name] = name;
    return name;
  });
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  fs.writeFileSync(path.join(dir, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
  return [...files, INDEX_FILE];
}
