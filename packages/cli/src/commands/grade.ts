import { readFileSync } from 'node:fs';
import { assertRegularFile } from '@oneshot-em/core/node';
import { extractAnswer, grade, gradeJsonl } from '@oneshot-em/core';
import { type Command, Option } from 'commander';
import { UserError } from '../errors.js';
import { writeOutFile } from '../run-dir.js';

export function registerGrade(program: Command): void {
  program
    .command('grade')
    .description('the math grader on its own, for outputs of any system')
    .addOption(new Option('--answer <text>', 'a final answer, e.g. "\\frac{64}{5}"'))
    .addOption(
      new Option(
        '--output <text>',
        'a whole model output: the answer is extracted (last \\boxed{}, "the answer is", …)',
      ),
    )
    .addOption(new Option('--reference <text>', 'the reference answer'))
    .addOption(
      new Option(
        '--jsonl <file>',
        'lines with "answer" (or "output") and "reference"; adds "extracted" and "correct"',
      ),
    )
    .addOption(new Option('--out <file>', 'where --jsonl results go (default: stdout)'))
    .action(
      (o: {
        answer?: string;
        output?: string;
        reference?: string;
        jsonl?: string;
        out?: string;
      }) => {
        if (o.jsonl) {
          let text: string;
          // a FIFO or a device would block the read forever: refused at once (exit 2)
          assertRegularFile(o.jsonl, '--jsonl');
          try {
            text = readFileSync(o.jsonl, 'utf8');
          } catch (e) {
            throw new UserError(`${o.jsonl}: cannot read (${(e as Error).message})`);
          }
          const graded = gradeJsonl(text, o.jsonl);
          if (o.out) writeOutFile(o.out, graded);
          else process.stdout.write(graded);
          return;
        }
        if ((o.answer === undefined && o.output === undefined) || o.reference === undefined) {
          throw new UserError('give --answer (or --output) and --reference, or --jsonl FILE');
        }
        const r = grade(o.answer ?? extractAnswer(o.output ?? ''), o.reference);
        process.stdout.write(`${r.correct ? 'correct' : 'wrong'}\n`);
      },
    );
}
