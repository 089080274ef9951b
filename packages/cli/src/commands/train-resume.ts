import { dirname } from 'node:path';
import type { TrainOptions } from '@oneshot-em/core';
import { type Command, Option } from 'commander';
import { UserError } from '../errors.js';
import { modelDir } from '../model-source.js';
import {
  configChanges,
  type RecordedRun,
  RUN_CONFIG_FILE,
  resumePoint,
  runIdentity,
} from '../run-config.js';

/** Flags about the run directory, not the run: not config-file keys, never recorded. */
export function addRunDirFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--overwrite',
        "start afresh in a non-empty --out, replacing the previous run's step_<N>/, final/, metrics.jsonl, run.svg and run_config.yaml",
      ),
    )
    .addOption(
      new Option(
        '--allow-config-change',
        `with --resume, or --config of a run's ${RUN_CONFIG_FILE}: run although options (resume) or the model/data hashes differ from those it records`,
      ),
    );
}

/**
 * Before a run: the identity to record, and for --resume the checks (checkpoint step vs its
 * directory and the metrics; nothing left to do; every option and hash against the recorded run).
 */
export function checkResume(
  opts: TrainOptions,
  recorded: RecordedRun | undefined,
  allowConfigChange: boolean,
  log: (s: string) => void,
): { identity: Record<string, string>; done?: boolean } {
  if (opts.resume) {
    const runDir = dirname(opts.resume);
    const point = resumePoint(opts.resume, runDir, opts.steps);
    if (point.done) {
      const d = point.done;
      const numbers =
        'loss' in d ? ` (loss ${d.loss.toFixed(4)}, entropy ${d.entropy.toFixed(4)})` : '';
      log(
        `nothing left to do: step ${point.step} of ${opts.steps} done${numbers} · ${opts.resume} (--steps N continues past it)`,
      );
      return { identity: {}, done: true };
    }
  }
  const identity = runIdentity(opts, modelDir(opts.model).dir);
  if (opts.resume) {
    if (!recorded) {
      log(`${dirname(opts.resume)} has no ${RUN_CONFIG_FILE}: the configuration is not checked`);
    } else {
      const changes = configChanges(recorded, opts, identity);
      if (changes.length && !allowConfigChange) {
        throw new UserError(
          `--resume ${opts.resume}: the run differs from ${recorded.file}:\n  ${changes.join('\n  ')}\n(--allow-config-change continues anyway)`,
        );
      }
      if (changes.length)
        log(`resuming with changes (--allow-config-change): ${changes.join('; ')}`);
    }
  }
  return { identity };
}
