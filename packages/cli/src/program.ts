import { Command } from 'commander';
import { registerCompare } from './commands/compare.js';
import { registerConvert } from './commands/convert.js';
import { registerDoctor } from './commands/doctor.js';
import { registerEntropy } from './commands/entropy.js';
import { registerEval } from './commands/eval.js';
import { registerGenerate } from './commands/generate.js';
import { registerGrade } from './commands/grade.js';
import { registerTrain } from './commands/train.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

/** The `oneshot-em` command tree: the only composition root of core, backends and objectives. */
export function buildProgram(): Command {
  const program = new Command('oneshot-em')
    .description(
      'Post-train language models without labels or rewards, by entropy minimization (One-shot EM).',
    )
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    // every parse error (unknown flag, missing argument, bad choice) throws to main: exit 2
    .exitOverride()
    .addHelpText('afterAll', EXIT_CODES_HELP);
  registerTrain(program);
  registerGenerate(program);
  registerEntropy(program);
  registerEval(program);
  registerGrade(program);
  registerCompare(program);
  registerConvert(program);
  registerDoctor(program);
  return program;
}
