/**
 * Resolves an objective choice to the objective and its validated parameters: a built-in
 * name, an npm package (resolved from `cwd`, dynamically imported) or a .ts/.js file path
 * (relative to `cwd`; .ts needs a TypeScript-aware runtime such as tsx or vitest). A plugin's
 * default export is `defineObjective({...})`. Node-only (exported from `@oneshot-em/core/node`).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isObjective, type Objective, parseObjectiveParams } from './objective.js';
import {
  builtinObjective,
  isObjectivePath,
  parseObjectiveSpec,
  unknownObjectiveMessage,
} from './objective-spec.js';
import { assertRegularFile } from '../io/regular-file.js';

export interface ResolvedObjective {
  objective: Objective;
  /** validated, with defaults applied */
  params: Record<string, unknown>;
  /** where it came from: 'builtin', the file path, or the package name */
  origin: string;
}

export interface ResolveObjectiveOptions {
  /** base of relative paths and of package resolution (default process.cwd()) */
  cwd?: string;
  /** parameters from a config file; `name:key=value` parameters override them */
  params?: Record<string, unknown>;
}

function defaultExport(module: Record<string, unknown>, origin: string): Objective {
  const candidate = module.default;
  // A CommonJS build re-exported through ESM nests the default once more.
  const objective = isObjective(candidate)
    ? candidate
    : (candidate as Record<string, unknown> | undefined)?.default;
  if (!isObjective(objective)) {
    throw new Error(
      `${origin}: the default export is not an objective; expected \`export default defineObjective({ name, description, params, stats, loss })\``,
    );
  }
  return objective;
}

async function importFile(
  source: string,
  cwd: string,
): Promise<{ objective: Objective; origin: string }> {
  const file = resolve(cwd, source);
  if (!existsSync(file))
    throw new Error(`objective file not found: ${file} (from '${source}', relative to ${cwd})`);
  assertRegularFile(file, 'an objective plugin file');
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(
      `${file}: the objective plugin failed to load: ${(e as Error)?.message ?? String(e)}`,
    );
  }
  return { objective: defaultExport(module, file), origin: file };
}

async function importPackage(
  name: string,
  cwd: string,
): Promise<{ objective: Objective; origin: string }> {
  let entry: string;
  try {
    entry = pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(name)).href;
  } catch {
    // Packages whose exports offer only an "import" condition: let the ESM resolver try.
    entry = name;
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(entry)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(
        unknownObjectiveMessage(name, `no built-in and no package of that name from ${cwd}`),
      );
    }
    throw error;
  }
  return { objective: defaultExport(module, `package '${name}'`), origin: name };
}

export async function resolveObjective(
  spec: string,
  options: ResolveObjectiveOptions = {},
): Promise<ResolvedObjective> {
  const cwd = options.cwd ?? process.cwd();
  const { source, params: specParams } = parseObjectiveSpec(spec);
  const builtin = builtinObjective(source);
  const { objective, origin } = builtin
    ? { objective: builtin, origin: 'builtin' }
    : isObjectivePath(source)
      ? await importFile(source, cwd)
      : await importPackage(source, cwd);
  if (builtin) {
    const params = parseObjectiveParams(objective, { ...options.params, ...specParams });
    return { objective, params: params as Record<string, unknown>, origin };
  }
  // a plugin's errors name its file (or package): parameters now, stats and loss in training
  const named = namedPlugin(objective, origin);
  let params: object;
  try {
    params = parseObjectiveParams(named, { ...options.params, ...specParams });
  } catch (e) {
    throw new Error(`${(e as Error).message} (objective plugin ${origin})`);
  }
  return { objective: named, params: params as Record<string, unknown>, origin };
}

/** The plugin with its `stats` and `loss` rethrowing as `objective <name> (<origin>): … threw: …`. */
function namedPlugin(objective: Objective, origin: string): Objective {
  const wrap =
    <A extends unknown[], R>(what: string, f: (...a: A) => R) =>
    (...a: A): R => {
      try {
        return f(...a);
      } catch (e) {
        throw new Error(
          `objective ${objective.name} (${origin}): ${what} threw: ${(e as Error)?.message ?? String(e)}`,
        );
      }
    };
  return {
    name: objective.name,
    description: objective.description,
    params: objective.params,
    stats: wrap('stats', (p) => objective.stats(p)),
    loss: wrap('loss', (ctx, p) => objective.loss(ctx, p)),
  };
}
