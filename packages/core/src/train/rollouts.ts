import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/**
 * Given completions (`--rollouts FILE`): users sample elsewhere (e.g. vLLM) and train here.
 * One JSON object per line, either token ids or text (tokenised with the model's tokenizer,
 * the prompt through the same chat-template setting as sampling).
 */
const idsLine = z.object({
  prompt_ids: z.array(z.number().int().min(0)).min(1),
  completion_ids: z.array(z.number().int().min(0)).min(1),
});
const textLine = z.object({ prompt: z.string(), completion: z.string().min(1) });

export type RolloutLine =
  | { kind: 'ids'; promptIds: number[]; completionIds: number[] }
  | { kind: 'text'; prompt: string; completion: string };

export async function loadRollouts(file: string): Promise<RolloutLine[]> {
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new Error(`${file}: cannot read rollouts (${e.message})`);
  });
  const out: RolloutLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new Error(`${file}:${i + 1}: not valid JSON`);
    }
    const a = idsLine.safeParse(obj);
    if (a.success) {
      out.push({ kind: 'ids', promptIds: a.data.prompt_ids, completionIds: a.data.completion_ids });
      return;
    }
    const b = textLine.safeParse(obj);
    if (b.success) {
      out.push({ kind: 'text', prompt: b.data.prompt, completion: b.data.completion });
      return;
    }
    throw new Error(
      `${file}:${i + 1}: expected {"prompt_ids":[…],"completion_ids":[…]} or {"prompt":"…","completion":"…"}`,
    );
  });
  if (out.length === 0) throw new Error(`${file}: no rollouts`);
  return out;
}
