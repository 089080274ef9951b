/**
 * One exit-code policy for every command: 0 success, 2 usage or input error (a flag, a file, a
 * model the user gave us), 1 runtime failure (the run itself went wrong).
 */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** Core's errors about what the user handed us, by class name (no import of every class). */
const INPUT_ERRORS = new Set([
  'UserError',
  'SafetensorsError',
  'NonFiniteTensorError',
  'ModelConfigError',
  'JsonFileError',
  'RolloutsError',
  'NotRegularFileError',
  'TemplateRenderError',
  'ZodError',
]);

/** Commander's codes for help and version, which are not errors. */
const COMMANDER_OK = new Set(['commander.helpDisplayed', 'commander.version']);

/** The exit code for an error that reached main. */
export function exitCodeFor(err: unknown): number {
  const e = err as { name?: string; code?: unknown; exitCode?: number };
  if (e?.name === 'CommanderError') {
    // 'commander.help' is help shown for a missing command: exit 0 only if commander says so
    if (COMMANDER_OK.has(String(e.code)) || (e.code === 'commander.help' && e.exitCode === 0))
      return EXIT_OK;
    return EXIT_USAGE;
  }
  if (typeof e?.code === 'number') return e.code;
  if (e?.name && INPUT_ERRORS.has(e.name)) return EXIT_USAGE;
  // fs errors on a path the user named (a missing --data file, a directory given as a file)
  const fsCode = typeof e?.code === 'string' ? e.code : '';
  if (
    (fsCode === 'ENOENT' || fsCode === 'EISDIR' || fsCode === 'ENOTDIR') &&
    'path' in (e as object)
  )
    return EXIT_USAGE;
  return EXIT_RUNTIME;
}

/** The footer of every command's --help. */
export const EXIT_CODES_HELP = `
Exit codes: 0 success · 2 usage or input error (flags, files, model, data; nothing was changed) ·
1 runtime failure (the run failed; the message names the step or the file).`;
