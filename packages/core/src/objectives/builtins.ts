/** The built-in objectives: the explicit list the registry and the CLI resolve names against. */
import { highEntropyTokens } from './high-entropy-tokens/high-entropy-tokens.js';
import { nll } from './nll/nll.js';
import type { Objective } from './objective.js';
import { selfCertainty } from './self-certainty/self-certainty.js';
import { sequenceNll } from './sequence-nll/sequence-nll.js';
import { tokenEntropy } from './token-entropy/token-entropy.js';

export const BUILTIN_OBJECTIVES: readonly Objective[] = [
  tokenEntropy,
  sequenceNll,
  selfCertainty,
  highEntropyTokens,
  nll,
];
