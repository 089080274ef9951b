import { rollout, type Tokenizer, uploadWeights } from '@oneshot-em/core';
import { encodePrompt, loadModel } from '@oneshot-em/core/node';
import { type Command, Option } from 'commander';
import { createBackend } from '../backends.js';
import { UserError } from '../errors.js';
import { modelDir } from '../model-source.js';

/**
 * A completion's text as it reads after its prompt: decoding it alone would drop a leading
 * space (sentencepiece-style decoders strip it at the start of a sequence).
 */
export function completionText(tok: Tokenizer, promptIds: number[], ids: number[]): string {
  const head = tok.decode(promptIds, { skipSpecialTokens: true });
  const full = tok.decode([...promptIds, ...ids], { skipSpecialTokens: true });
  return full.startsWith(head)
    ? full.slice(head.length)
    : tok.decode(ids, { skipSpecialTokens: true });
}

function num(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n))
      throw new UserError(`${flag}: expected a number, got '${v}'`);
    return n;
  };
}

/** Flags shared by generate / entropy / eval: where the model runs. */
export function addRuntimeFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--model <dir>', 'Hugging Face model directory (default: embedded stories260K)'),
    )
    .addOption(
      new Option('--backend <name>', 'executor')
        .choices(['ort', 'dawn', 'reference'])
        .default('ort'),
    )
    .addOption(new Option('--device <device>', 'ort: cpu|cuda[:N]; dawn: adapter index or name'));
}

export function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .description('sample or greedily decode completions (an empty prompt starts from BOS)')
    .addOption(
      new Option('--prompt <text>', 'the prompt (repeat for a batch)').argParser(
        (v: string, prev: string[] = []) => [...prev, v],
      ),
    )
    .addOption(
      new Option('--chat-template <mode>', 'apply the chat template')
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .addOption(new Option('--greedy', 'argmax decoding, the same as --temperature 0'))
    .addOption(
      new Option('--temperature <t>', 'sampling temperature')
        .argParser(num('--temperature'))
        .default(0.5),
    )
    .addOption(new Option('--top-p <p>', '').argParser(num('--top-p')).default(0.95))
    .addOption(new Option('--top-k <k>', '0 disables').argParser(num('--top-k')).default(0))
    .addOption(
      new Option('--repetition-penalty <r>', '1 disables')
        .argParser(num('--repetition-penalty'))
        .default(1.15),
    )
    .addOption(
      new Option('--max-new-tokens <n>', '').argParser(num('--max-new-tokens')).default(256),
    )
    .addOption(new Option('--n <n>', 'completions per prompt').argParser(num('--n')).default(1))
    .addOption(new Option('--seed <s>', '').argParser(num('--seed')).default(42))
    .addOption(new Option('--json', 'print one JSON line per completion: prompt, ids, text'));
  addRuntimeFlags(cmd);
  cmd.action(async (o) => {
    const { dir } = modelDir(o.model);
    const model = loadModel(dir);
    const texts: string[] = o.prompt ?? [''];
    const prompts: number[][] = [];
    const which: number[] = [];
    texts.forEach((t, i) => {
      const ids = encodePrompt(model, t, t === '' ? 'off' : o.chatTemplate);
      for (let k = 0; k < o.n; k++) {
        prompts.push(ids);
        which.push(i);
      }
    });
    const backend = await createBackend(o.backend, o.device, model.config);
    try {
      const w = uploadWeights(backend, model.config, model.weights);
      const r = await rollout(backend, model.config, w, {
        prompts,
        sampling: {
          temperature: o.greedy ? 0 : o.temperature,
          topP: o.topP,
          topK: o.topK,
          repetitionPenalty: o.repetitionPenalty,
        },
        maxNewTokens: o.maxNewTokens,
        seed: o.seed,
        eosIds: model.eosIds,
        padId: model.padId,
      });
      r.completions.forEach((ids, j) => {
        const text = completionText(model.tokenizer, prompts[j], ids);
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ prompt: texts[which[j]], prompt_ids: prompts[j], ids, text })}\n`,
          );
        } else {
          process.stdout.write(
            `${texts[which[j]]}${text}\n${r.completions.length > 1 ? '---\n' : ''}`,
          );
        }
      });
    } finally {
      await backend.destroy();
    }
  });
}
