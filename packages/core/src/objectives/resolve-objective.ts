/**
 * Resolves an objective choice to the objective and its validated parameters: a built-in
 * name, an npm package (resolved from `cwd`, else a package of that name in the workspace
 * around `cwd`), a package directory (through its package.json) or a .ts/.js file path
 * (relative to `cwd`; .ts needs a TypeScript-aware runtime such as tsx or vitest). A plugin's
 * default export is `defineObjective({...})`. Node-only (exported from `@oneshot-em/core/node`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isObjective, type Objective, parseObjectiveParams } from './objective.js';
import {
  builtinObjective,
  isObjectivePath,
  parseObjectiveSpec,
  unknownObjectiveMessage,
} from './objective-spec.js';
import { exports as resolveExports } from 'resolve.exports';
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

/**
 * A package directory's entry point, as Node resolves the package by name: package.json's
 * `exports` "." (import and node conditions), else `main`, else index.js.
 */
export function packageEntry(dir: string): string {
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile)) {
    throw new Error(
      `${dir}: a directory without package.json; give an objective file (.ts/.js) or a package directory`,
    );
  }
  let pkg: { name?: string; exports?: unknown; main?: string };
  try {
    pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  } catch (e) {
    throw new Error(`${pkgFile}: not valid JSON (${(e as Error).message})`);
  }
  const targets: string[] = [];
  if (pkg.exports !== undefined) {
    try {
      // a workspace package's sources ("development") where present, else what it ships
      for (const conditions of [['development'], []]) {
        const t = resolveExports(pkg, '.', { conditions })?.[0];
        if (t) targets.push(t);
      }
    } catch (e) {
      throw new Error(`${pkgFile}: exports has no entry for "." (${(e as Error).message})`);
    }
  } else targets.push(pkg.main ?? 'index.js');
  const entries = targets.map((t) => resolve(dir, t));
  const entry = entries.find((e) => existsSync(e)) ?? entries[entries.length - 1];
  if (entry === undefined) throw new Error(`${pkgFile}: exports has no entry for "."`);
  if (!existsSync(entry)) {
    throw new Error(
      `${pkgFile}: its entry point ${entry} does not exist${/[/\\]dist[/\\]/.test(entry) ? ' (build the package first)' : ''}`,
    );
  }
  return entry;
}

async function importFile(
  source: string,
  cwd: string,
): Promise<{ objective: Objective; origin: string }> {
  const path = resolve(cwd, source);
  if (!existsSync(path))
    throw new Error(`objective file not found: ${path} (from '${source}', relative to ${cwd})`);
  // a package directory (a scaffolded plugin): its entry point through package.json
  const file = statSync(path).isDirectory() ? packageEntry(path) : path;
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

/** The nearest directory at or above `from` whose package.json declares npm workspaces. */
function workspaceRoot(from: string): { root: string; patterns: string[] } | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const w = (JSON.parse(readFileSync(file, 'utf8')) as { workspaces?: unknown }).workspaces;
        const patterns = Array.isArray(w) ? w : (w as { packages?: unknown })?.packages;
        if (Array.isArray(patterns)) return { root: dir, patterns: patterns.map(String) };
      } catch {
        // an unreadable package.json on the way up is not the workspace root
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The directory of the workspace package called `name` (npm workspaces: `dir` or `dir/*`
 * patterns), found by reading package.json names: a package scaffolded a moment ago, before
 * `npm install` links it into node_modules.
 */
export function workspacePackageDir(name: string, cwd: string): string | undefined {
  const ws = workspaceRoot(cwd);
  if (!ws) return undefined;
  const candidates = ws.patterns.flatMap((pattern) => {
    const base = join(ws.root, pattern.replace(/\/\*$/, ''));
    if (!pattern.endsWith('/*')) return [base];
    if (!existsSync(base) || !statSync(base).isDirectory()) return [];
    return readdirSync(base).map((child) => join(base, child));
  });
  return candidates.find((dir) => {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) return false;
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === name;
    } catch {
      return false;
    }
  });
}

async function importPackage(
  name: string,
  cwd: string,
): Promise<{ objective: Objective; origin: string }> {
  let entry: string;
  try {
    entry = pathToFileURL(createRequire(join(cwd, 'package.json')).resolve(name)).href;
  } catch {
    // Not linked into node_modules yet (scaffolded, no `npm install` since): the workspace's
    // own package of that name. Else packages whose exports offer only an "import"
    // condition: let the ESM resolver try.
    const dir = workspacePackageDir(name, cwd);
    entry = dir ? pathToFileURL(packageEntry(dir)).href : name;
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
