// @oneshot-em/core/node: the parts that touch the file system (model, tokenizer and data loading).
export {
  loadStories260K,
  readLlama2cFile,
  STORIES260K_CHECKPOINT,
  STORIES260K_TOKENIZER,
} from './io/llama2c-stories.js';
export {
  loadHfTokenizer,
  loadLlama2cTokenizer,
  loadTokenizer,
} from './tokenizer/load-tokenizer.js';
