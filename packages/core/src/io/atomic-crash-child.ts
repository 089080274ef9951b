/**
 * Child process for the crash test in atomic.test.ts: saves two alternating random models into
 * one directory forever, printing a line after each save, until it is killed. The two are
 * sharded differently, so a mix of old and new shards would show.
 *
 *   node --import tsx atomic-crash-child.ts DIR
 */
import { tinyModelConfig, tinyModelWeights } from '../testing/fixtures.js';
import { saveHfModel } from './hf-model.js';

/** Keep in step with SHARD_SIZES in atomic.test.ts. */
const CRASH_SHARD_SIZES = [50_000, 15_000];

const dir = process.argv[2];
const config = tinyModelConfig('llama');
const models = [tinyModelWeights(config, 1), tinyModelWeights(config, 2)];
for (let i = 0; ; i++) {
  saveHfModel(dir, config, models[i % 2], { maxShardSize: CRASH_SHARD_SIZES[i % 2] });
  process.stdout.write(`saved ${i}\n`);
}
