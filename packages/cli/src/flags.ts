import { type Command, Option } from 'commander';
import { z } from 'zod';
import { UserError } from './errors.js';

/** camelCase key → --kebab-case flag: one concept, one name (config key: snake_case). */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

interface FieldInfo {
  kind: 'string' | 'number' | 'integer' | 'enum' | 'boolean';
  choices?: string[];
  defaultValue?: unknown;
  description: string;
}

function fieldInfo(field: z.ZodType): FieldInfo {
  let inner: z.ZodType = field;
  let defaultValue: unknown;
  const description = field.description ?? '';
  for (;;) {
    if (inner instanceof z.ZodDefault) {
      defaultValue = inner.def.defaultValue;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodOptional) {
      inner = inner.unwrap() as z.ZodType;
    } else break;
  }
  const d = description || inner.description || '';
  if (inner instanceof z.ZodEnum) {
    return { kind: 'enum', choices: inner.options.map(String), defaultValue, description: d };
  }
  if (inner instanceof z.ZodNumber) {
    return { kind: inner.isInt ? 'integer' : 'number', defaultValue, description: d };
  }
  if (inner instanceof z.ZodBoolean) return { kind: 'boolean', defaultValue, description: d };
  return { kind: 'string', defaultValue, description: d };
}

/**
 * Adds one `--flag` per key of a zod object schema. Values stay unvalidated strings/numbers here;
 * the schema validates them (with the config file) in one place. Defaults are shown in help but not
 * applied here, so that a config file can supply them and flags override only what was given.
 */
export function addSchemaFlags(cmd: Command, schema: z.ZodObject, skip: string[] = []): Command {
  for (const [key, field] of Object.entries(schema.shape)) {
    if (skip.includes(key)) continue;
    const info = fieldInfo(field as z.ZodType);
    const flag = `--${flagName(key)}`;
    const opt =
      info.kind === 'boolean'
        ? new Option(flag, info.description)
        : new Option(
            `${flag} <${info.kind === 'enum' ? 'choice' : info.kind === 'string' ? 'value' : 'n'}>`,
            info.description,
          );
    if (info.choices) opt.choices(info.choices);
    if (info.kind === 'number' || info.kind === 'integer') {
      opt.argParser((v: string) => {
        const n = Number(v);
        if (v.trim() === '' || !Number.isFinite(n))
          throw new UserError(`${flag}: expected a number, got '${v}'`);
        return n;
      });
    }
    if (info.defaultValue !== undefined) {
      const shown = `(default: ${JSON.stringify(info.defaultValue)})`;
      opt.description = opt.description ? `${opt.description} ${shown}` : shown;
    }
    cmd.addOption(opt);
  }
  return cmd;
}

/**
 * Validates the flags of `schema` (added by addSchemaFlags) in `raw`, applying its defaults; the
 * other keys of `raw` pass through. Errors name the flag: `--top-p: expected a number in (0, 1],
 * got 1.5` (exit 2).
 */
export function parseSchemaFlags<S extends z.ZodObject>(
  schema: S,
  raw: Record<string, unknown>,
  // biome-ignore lint/suspicious/noExplicitAny: the other keys are commander's untyped options
): Record<string, any> & z.infer<S> {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) if (raw[key] !== undefined) picked[key] = raw[key];
  const r = schema.safeParse(picked);
  if (!r.success) {
    throw new UserError(
      r.error.issues
        .map((i) => `${i.path.length ? `--${flagName(String(i.path[0]))}` : 'flags'}: ${i.message}`)
        .join('\n'),
    );
  }
  // biome-ignore lint/suspicious/noExplicitAny: as above
  return { ...raw, ...(r.data as object) } as Record<string, any> & z.infer<S>;
}
