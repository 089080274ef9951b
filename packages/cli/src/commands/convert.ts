import { convertLlama2c } from '@oneshot-em/core/node';
import { type Command, Option } from 'commander';
import { UserError } from '../errors.js';

export function registerConvert(program: Command): void {
  const convert = program
    .command('convert')
    .description('convert other checkpoint formats to a Hugging Face directory');
  convert
    .command('llama2c')
    .description(
      'a llama2.c checkpoint (.bin) and tokenizer (.bin) → a Hugging Face Llama directory ' +
        '(wq/wk permuted so rotate-half RoPE reproduces the interleaved original)',
    )
    .addOption(new Option('--checkpoint <file>', 'llama2.c model .bin').makeOptionMandatory())
    .addOption(new Option('--tokenizer <file>', 'llama2.c tokenizer .bin').makeOptionMandatory())
    .addOption(
      new Option('--out <dir>', 'output directory (written atomically)').makeOptionMandatory(),
    )
    .action((o: { checkpoint: string; tokenizer: string; out: string }) => {
      let files: string[];
      try {
        files = convertLlama2c(o).files;
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      process.stderr.write(`wrote ${o.out}: ${files.join(', ')}\n`);
    });
}
