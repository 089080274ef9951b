import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { maskConvention, type TrainOptions } from '@oneshot-em/core';
import {
  assertRegularFile,
  RESUME_STATE_FILE,
  readResumeState,
  TRAINER_STATE_FILE,
} from '@oneshot-em/core/node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { UserError } from './errors.js';

/**
 * `<out>/run_config.yaml`: the resolved options of a run (snake_case keys, the config-file
 * spelling, so `train --config run_config.yaml` runs it again) plus `_identity`, the hashes of
 * what the options only name (the model's config.json and safetensors headers, the data file),
 * and `_versions` (oneshot-em, Node.js, platform), recorded for the reader.
 */
export const RUN_CONFIG_FILE = 'run_config.yaml';
const IDENTITY_KEY = '_identity';
const VERSIONS_KEY = '_versions';

/** What produced a run: recorded, never compared (a newer version may resume an older run). */
export function runVersions(): Record<string, string> {
  let version = 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    version = String(pkg.version);
  } catch {
    // a bundled cli without its package.json: the version stays unknown
  }
  return {
    oneshot_em: version,
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
  };
}

/**
 * A config file's keys split: the options, and the `_identity` / `_versions` a run_config.yaml
 * carries (so `train --config <out>/run_config.yaml` accepts it back).
 */
export function splitConfigFile(v: Record<string, unknown>): {
  options: Record<string, unknown>;
  identity?: Record<string, string>;
} {
  const { [IDENTITY_KEY]: identity, [VERSIONS_KEY]: _versions, ...options } = v;
  return { options, identity: identity as Record<string, string> | undefined };
}

/**
 * The hashes that differ between a recorded identity and this run's, as `key: old → new`
 * (`model_dir` is where the model was, not what it is: not compared).
 */
export function identityChanges(
  recorded: Record<string, string>,
  now: Record<string, string>,
): string[] {
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
  const changes: string[] = [];
  for (const k of new Set([...Object.keys(recorded), ...Object.keys(now)])) {
    if (k === 'model_dir') continue;
    if (recorded[k] !== now[k])
      changes.push(`${IDENTITY_KEY}.${k}: ${show(recorded[k])} → ${show(now[k])}`);
  }
  return changes;
}

/** Not part of what a run computes: never recorded. */
const NOT_RECORDED = new Set(['resume', 'dryRun', 'json']);
/**
 * May differ on resume without changing the computation: where and how often it saves, how
 * long it goes on, the memory limit it plans against.
 */
const NOT_COMPARED = new Set([
  'steps',
  'saveSteps',
  'saveTotalLimit',
  'out',
  'deviceMemory',
  'maxShardSize',
]);

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export interface RecordedRun {
  file: string;
  /** snake_case keys, as in a config file */
  options: Record<string, unknown>;
  identity: Record<string, string>;
}

/** sha256 of a whole file, read in 1 MiB pieces. */
export function fileSha256(file: string): string {
  assertRegularFile(file);
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** sha256 over the header bytes (length + JSON) of every weights file: cheap, not the weights. */
export function weightsHeaderSha256(dir: string): string {
  const h = createHash('sha256');
  const files = readdirSync(dir)
    .filter((f) => /^model.*\.safetensors(\.index\.json)?$/.test(f))
    .sort();
  for (const f of files) {
    const path = join(dir, f);
    if (f.endsWith('.json')) {
      h.update(readFileSync(path));
      continue;
    }
    const fd = openSync(path, 'r');
    try {
      const len = Buffer.alloc(8);
      readSync(fd, len, 0, 8, 0);
      // a damaged length is the loader's to report; hash what is there, at most 100 MB
      const n = Math.min(Number(len.readBigUInt64LE(0)), 100_000_000);
      const header = Buffer.alloc(n);
      readSync(fd, header, 0, n, 8);
      h.update(f).update(len).update(header);
    } finally {
      closeSync(fd);
    }
  }
  return h.digest('hex');
}

/** What the options only name, by content. */
export function runIdentity(opts: TrainOptions, modelDir: string): Record<string, string> {
  const id: Record<string, string> = {
    model_dir: modelDir,
    model_config_sha256: fileSha256(join(modelDir, 'config.json')),
    model_weights_header_sha256: weightsHeaderSha256(modelDir),
  };
  if (opts.data) id.data_sha256 = fileSha256(opts.data);
  if (opts.rollouts) id.rollouts_sha256 = fileSha256(opts.rollouts);
  if (opts.prompt !== undefined) {
    id.prompt_sha256 = createHash('sha256').update(opts.prompt).digest('hex');
  }
  return id;
}

/** The options as recorded (snake_case, undefined left out). */
export function recordedOptions(opts: TrainOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) {
    if (v !== undefined && !NOT_RECORDED.has(k)) out[snake(k)] = v;
  }
  return out;
}

/** Writes `<out>/run_config.yaml` (temp + rename: never a torn file); errors name the path. */
export function writeRunConfig(out: string, opts: TrainOptions, identity: Record<string, string>) {
  const file = join(out, RUN_CONFIG_FILE);
  const text = `# the resolved configuration of this run; train --config ${RUN_CONFIG_FILE} runs it again\n${stringifyYaml(
    { ...recordedOptions(opts), [IDENTITY_KEY]: identity, [VERSIONS_KEY]: runVersions() },
  )}`;
  try {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  } catch (e) {
    throw new Error(`${file}: cannot write the run configuration (${(e as Error).message})`);
  }
}

/** The run configuration in `runDir`, or undefined where there is none (runs before it existed). */
export function readRunConfig(runDir: string): RecordedRun | undefined {
  const file = join(runDir, RUN_CONFIG_FILE);
  if (!existsSync(file)) return undefined;
  assertRegularFile(file, RUN_CONFIG_FILE);
  let v: unknown;
  try {
    v = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: not valid YAML (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new UserError(`${file}: expected a mapping of option keys to values`);
  }
  const { options, identity } = splitConfigFile(v as Record<string, unknown>);
  return { file, options, identity: identity ?? {} };
}

/** Every key whose value changed, as `key: old → new` (a key the run did not record: `(unset)`). */
export function configChanges(
  recorded: RecordedRun,
  opts: TrainOptions,
  identity: Record<string, string>,
): string[] {
  const now = recordedOptions(opts);
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
  const changes: string[] = [];
  const keys = new Set([...Object.keys(recorded.options), ...Object.keys(now)]);
  // a decaying schedule reaches 0 at --steps, a warmup ratio is a share of it: more steps
  // change the rate of the steps left
  const scheduled = (o: Record<string, unknown>) =>
    o.lr_scheduler_type === 'linear' ||
    o.lr_scheduler_type === 'cosine' ||
    (o.lr_scheduler_type === 'constant_with_warmup' &&
      Number(o.warmup_ratio) > 0 &&
      !(Number(o.warmup_steps) > 0));
  const stepsMatter = scheduled(recorded.options) || scheduled(now);
  for (const k of keys) {
    const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (NOT_COMPARED.has(camel) && !(camel === 'steps' && stepsMatter)) continue;
    // a value renamed since the run was recorded compares by its current name
    const a = k === 'mask' ? maskConvention(recorded.options[k]) : recorded.options[k];
    const b = now[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) changes.push(`${k}: ${show(a)} → ${show(b)}`);
  }
  for (const [k, v] of Object.entries(identity)) {
    const a = recorded.identity[k];
    if (a !== v) changes.push(`${IDENTITY_KEY}.${k}: ${show(a)} → ${show(v)}`);
  }
  return changes;
}

interface MetricsLine {
  step: number;
  loss: number;
  entropy: number;
}

/**
 * Where a resume starts: the checkpoint's step, checked against its directory name and the run's
 * metrics.jsonl. `done` when the run already reached `steps`.
 */
export function resumePoint(
  resumeDir: string,
  runDir: string,
  steps: number,
): { step: number; done?: MetricsLine | { step: number } } {
  let n: number;
  try {
    n = readResumeState(resumeDir).step;
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const own = join(resumeDir, RESUME_STATE_FILE);
  const stateFile = existsSync(own) ? own : join(resumeDir, TRAINER_STATE_FILE);
  const named = /^step_(\d+)$/.exec(basename(resumeDir));
  if (named && Number(named[1]) !== n) {
    throw new UserError(
      `${stateFile}: step ${n} disagrees with its directory ${basename(resumeDir)}: the checkpoint is damaged or was moved`,
    );
  }
  const metricsFile = join(runDir, 'metrics.jsonl');
  let line: MetricsLine | undefined;
  if (existsSync(metricsFile)) {
    const lines: MetricsLine[] = [];
    for (const [i, text] of readFileSync(metricsFile, 'utf8').split('\n').entries()) {
      if (!text.trim()) continue;
      try {
        lines.push(JSON.parse(text) as MetricsLine);
      } catch {
        throw new UserError(`${metricsFile}:${i + 1}: not valid JSON`);
      }
    }
    line = lines.find((m) => m.step === n);
    const last = lines.at(-1)?.step ?? 0;
    if (!line && n > 0) {
      throw new UserError(
        `${stateFile}: step ${n} is not in ${metricsFile} (it ends at step ${last}): the checkpoint is not from this run`,
      );
    }
  }
  return { step: n, done: n >= steps ? (line ?? { step: n }) : undefined };
}
