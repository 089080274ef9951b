import { warnDeprecated } from '@oneshot-em/core';
import { type Command, Option } from 'commander';
import { UserError } from './errors.js';
import { flagName } from './flags.js';

/** A flag renamed in 0.1 (docs/architecture.md#glossary): camelCase keys of the old and new flag. */
export interface RenamedFlag {
  old: string;
  now: string;
  /** why, in a few words (the deprecation line repeats it) */
  why: string;
}

/**
 * Adds each old spelling as a hidden option that parses like its new one (which must already be
 * on `cmd`), so `--temperature 0.7` still works where it now means `--loss-temperature`.
 */
export function addRenamedFlags(cmd: Command, renamed: readonly RenamedFlag[]): void {
  for (const r of renamed) {
    const now = cmd.options.find((o) => o.long === `--${flagName(r.now)}`);
    if (!now) throw new Error(`addRenamedFlags: ${cmd.name()} has no --${flagName(r.now)}`);
    const old = new Option(`--${flagName(r.old)} <value>`).hideHelp();
    if (now.parseArg) old.argParser(now.parseArg);
    cmd.addOption(old);
  }
}

/** Moves an old flag's value to its new key, with one deprecation line; both at once is an error. */
export function resolveRenamedFlags(
  raw: Record<string, unknown>,
  renamed: readonly RenamedFlag[],
): Record<string, unknown> {
  const out = { ...raw };
  for (const r of renamed) {
    if (out[r.old] === undefined) continue;
    const [old, now] = [`--${flagName(r.old)}`, `--${flagName(r.now)}`];
    if (out[r.now] !== undefined)
      throw new UserError(`${old} and ${now} name the same setting here; give only ${now}`);
    warnDeprecated(old, now, r.why);
    out[r.now] = out[r.old];
    delete out[r.old];
  }
  return out;
}

/** The statistics' temperature was `--temperature` in entropy and compare until 0.1. */
export const LOSS_TEMPERATURE_RENAME: RenamedFlag = {
  old: 'temperature',
  now: 'lossTemperature',
  why: '--temperature is the sampling temperature in every command',
};
