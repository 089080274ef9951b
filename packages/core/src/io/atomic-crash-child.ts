/**
 * Child process for the crash test in atomic.test.ts: saves two alternating random models into
 * one directory forever, printing a line after each save, until it is killed.
 *
 *   node --import tsx atomic-crash-child.ts DIR
 */
import { tinyModelConfig, tinyModelWeights } from '../testing/fixtures.js';
import { saveHfModel } from './hf-model.js';

const dir = process.argv[2];
const config = tinyModelConfig('llama');
const models = [tinyModelWeights(config, 1), tinyModelWeights(config, 2)];
for (let i = 0; ; i++) {
  saveHfModel(dir, config, models[i % 2], { maxShardBytes: 50_000 });
  process.stdout.write(`saved ${i}\n`);
}
