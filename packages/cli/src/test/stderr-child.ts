import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHILD_ENV, isTerminal, launchFiltered, TTY_ENV } from '../stderr-filter.js';
import { DAWN_UNIFORM, MIXED_WRITES } from './stderr-lines.js';

/**
 * A stand-in for the bin in stderr-filter.test.ts: run as the launcher it starts itself again as
 * the filtered child, which then behaves as argv[2] says. `FAKE_TTY=1` makes the launcher's
 * stderr claim to be a terminal (a test has none to give it).
 */
async function behave(mode: string | undefined, arg: string | undefined): Promise<void> {
  if (mode === 'mixed') {
    process.stdout.write('result on stdout\n');
    for (const w of MIXED_WRITES) {
      process.stderr.write(w);
      await sleep(15);
    }
  } else if (mode === 'exit') {
    process.stderr.write(`${DAWN_UNIFORM}\nexiting ${arg}\n`);
    process.exit(Number(arg));
  } else if (mode === 'signal') {
    process.kill(process.pid, arg as NodeJS.Signals);
    await sleep(10_000);
  } else if (mode === 'wait-stdin') {
    process.stderr.write('\rstep 1');
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      process.stderr.write(` then ${line}\n`);
      break;
    }
    rl.close();
  } else if (mode === 'term') {
    process.on('SIGTERM', () => {
      process.stderr.write('child got SIGTERM\n');
      process.exit(143);
    });
    process.stderr.write('ready\n');
    await sleep(20_000);
  } else if (mode === 'tty') {
    process.stdout.write(`${process.env[TTY_ENV] ?? 'unset'} ${isTerminal(process.stderr)}\n`);
  } else throw new Error(`stderr-child: unknown mode ${mode}`);
}

if (process.env.FAKE_TTY === '1' && process.env[CHILD_ENV] !== '1')
  Object.defineProperty(process.stderr, 'isTTY', { value: true });
if (!launchFiltered(import.meta.filename, process.argv.slice(2)))
  await behave(process.argv[2], process.argv[3]);
