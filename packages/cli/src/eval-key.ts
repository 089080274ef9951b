import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './errors.js';
import { fileSha256, weightsHeaderSha256 } from './run-config.js';

/**
 * `<eval --out>/eval_config.json`: the model's identity and the settings that decide the answers.
 * problems.jsonl resumes only under the same key, so a reused --out never mixes models or settings.
 */
export const EVAL_CONFIG_FILE = 'eval_config.json';
const EVAL_FILES = ['problems.jsonl', 'results.json', 'results.md', EVAL_CONFIG_FILE];

export function evalKey(
  modelDir: string,
  settings: Record<string, unknown>,
): Record<string, unknown> {
  return {
    model_dir: modelDir,
    model_config_sha256: fileSha256(join(modelDir, 'config.json')),
    model_weights_header_sha256: weightsHeaderSha256(modelDir),
    ...settings,
  };
}

/**
 * Checks `out` against `key` (refusing a different model or settings, listing each change, unless
 * `overwrite`, which removes the previous eval's files), then records the key.
 */
export function claimEvalOut(out: string, key: Record<string, unknown>, overwrite: boolean): void {
  const file = join(out, EVAL_CONFIG_FILE);
  const hasResults = existsSync(join(out, 'problems.jsonl'));
  if (overwrite) {
    for (const f of EVAL_FILES) rmSync(join(out, f), { force: true });
  } else if (existsSync(file)) {
    let old: Record<string, unknown>;
    try {
      old = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
    }
    const changes = [...new Set([...Object.keys(old), ...Object.keys(key)])]
      .filter((k) => JSON.stringify(old[k]) !== JSON.stringify(key[k]))
      .map((k) => `${k}: ${JSON.stringify(old[k])} → ${JSON.stringify(key[k])}`);
    if (changes.length) {
      throw new UserError(
        `--out ${out} holds an eval of another model or settings (${file}):\n  ${changes.join('\n  ')}\n(another --out keeps both; --overwrite replaces it)`,
      );
    }
  } else if (hasResults) {
    throw new UserError(
      `--out ${out} holds problems.jsonl without ${EVAL_CONFIG_FILE} (an eval whose model is unknown); --overwrite replaces it, or choose another --out`,
    );
  }
  try {
    writeFileSync(`${file}.tmp`, `${JSON.stringify(key, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  } catch (e) {
    throw new Error(`${file}: cannot write it (${(e as Error).message})`);
  }
}
