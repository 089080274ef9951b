/**
 * Writes a bench model's config (tools/bench/models.ts) as JSON for torch_em_gpu.py, so the
 * PyTorch baseline builds exactly the shape the bench trains.
 *
 *   npx tsx tools/gpu-check/model-config.ts qwen2.5-1.5b OUT.json
 */
import { writeFileSync } from 'node:fs';
import { paramCount } from '@oneshot-em/core';
import { MODEL_NAMES, QWEN2_SHAPES, qwen2Config } from '../bench/models.js';

const [name, out] = process.argv.slice(2);
const shape = name === undefined ? undefined : QWEN2_SHAPES[name];
if (!shape || !out) {
  console.error(
    `usage: model-config.ts NAME OUT.json (NAME one of ${MODEL_NAMES.filter((n) => QWEN2_SHAPES[n]).join(', ')})`,
  );
  process.exit(2);
}
const config = qwen2Config(shape);
writeFileSync(
  out,
  `${JSON.stringify({ name, params: paramCount(config), config, pad_id: 0 }, null, 2)}\n`,
);
