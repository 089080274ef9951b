import { exitCodeFor } from './exit-codes.js';
import { buildProgram } from './program.js';
import { ensureXdgRuntimeDir } from './runtime-env.js';

ensureXdgRuntimeDir();
const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as Error;
  // commander has already printed its own message (unknown option, missing argument, …)
  if (e.name !== 'CommanderError') {
    process.stderr.write(`oneshot-em: ${e.message}\n`);
    if (process.env.ONESHOT_EM_DEBUG) process.stderr.write(`${e.stack}\n`);
  }
  process.exit(exitCodeFor(e));
}
