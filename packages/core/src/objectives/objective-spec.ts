/**
 * The textual form of an objective choice, as the CLI and config files write it:
 * `name`, `name:key=value,key=value`, `./path/to/objective.ts:key=value`, `@scope/package`.
 * Values stay strings here; the objective's zod schema coerces them.
 */
import { BUILTIN_OBJECTIVES } from './builtins.js';
import type { Objective } from './objective.js';

export interface ObjectiveSpec {
  /** built-in name, npm package name or file path */
  source: string;
  params: Record<string, string>;
}

/** Splits `source:key=value,…`. A colon belongs to the source unless what follows is a parameter list. */
export function parseObjectiveSpec(spec: string): ObjectiveSpec {
  const trimmed = spec.trim();
  if (trimmed === '')
    throw new Error('objective: empty name; expected e.g. token-entropy or ./my-objective.ts');
  const colon = trimmed.lastIndexOf(':');
  const tail = colon >= 0 ? trimmed.slice(colon + 1) : '';
  const isParamList = colon > 0 && (tail.trim() === '' || tail.includes('='));
  const source = isParamList ? trimmed.slice(0, colon) : trimmed;
  const params: Record<string, string> = {};
  if (isParamList && tail.trim() !== '') {
    for (const pair of tail.split(',')) {
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq).trim();
      if (eq <= 0 || key === '') {
        throw new Error(
          `objective '${source}': parameter '${pair}' is not key=value (in '${spec}')`,
        );
      }
      params[key] = pair.slice(eq + 1).trim();
    }
  }
  return { source, params };
}

export function builtinObjective(name: string): Objective | undefined {
  return BUILTIN_OBJECTIVES.find((o) => o.name === name);
}

/** A source that names a file rather than a package: relative/absolute path or a script extension. */
export function isObjectivePath(source: string): boolean {
  return (
    /^\.{1,2}([/\\]|$)/.test(source) ||
    /^([/\\]|[A-Za-z]:[/\\])/.test(source) ||
    /\.(ts|mts|cts|js|mjs|cjs)$/.test(source)
  );
}

export function unknownObjectiveMessage(source: string, reason?: string): string {
  const names = BUILTIN_OBJECTIVES.map((o) => `  ${o.name}: ${o.description}`).join('\n');
  return (
    `unknown objective '${source}'${reason ? ` (${reason})` : ''}; the built-in objectives are:\n${names}\n` +
    'or give an npm package name or a path to a .ts/.js file whose default export is defineObjective({...})'
  );
}
