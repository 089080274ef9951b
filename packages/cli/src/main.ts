import { buildProgram } from './program.js';

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as Error & { code?: unknown; exitCode?: number };
  if (e.name === 'CommanderError') process.exit(e.exitCode ?? 2);
  process.stderr.write(`oneshot-em: ${e.message}\n`);
  if (process.env.ONESHOT_EM_DEBUG) process.stderr.write(`${e.stack}\n`);
  process.exit(typeof e.code === 'number' ? e.code : 1);
}
