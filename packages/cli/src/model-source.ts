import { defaultModelDir } from '@oneshot-em/core/node';

/** `--model DIR`, or the embedded stories260K model when none is given. */
export function modelDir(model: string | undefined): { dir: string; embedded: boolean } {
  return model ? { dir: model, embedded: false } : { dir: defaultModelDir(), embedded: true };
}

/** TinyStories openings the embedded model never trains on: the before/after entropy probe. */
export const STORY_HELDOUT_PROMPTS = [
  'Tom and his dog went to the park.',
  'The little bird sat on a branch.',
  'Mia had a red ball.',
  'One day, a big bear found a box.',
];

/** The default prompt for the embedded model (a story model has no use for a math problem). */
export const STORY_TRAIN_PROMPT = 'Once upon a time, there was a little';

/** For real (chat/math) models: unlabeled problems in the spirit of the paper's probe. */
export const MATH_HELDOUT_PROMPTS = [
  'What is the sum of the first 20 positive odd integers?',
  'Solve for x: 3x + 7 = 22.',
  'A rectangle has perimeter 30 and length 9. What is its area?',
  'How many positive divisors does 36 have?',
];
