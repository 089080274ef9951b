/**
 * The Dawn adapter report of the GPU check: every adapter Dawn finds (name, API, features,
 * limits) as JSON, or the loader's error. Exit 1 when there is none, so the stage shows it.
 *
 *   npx tsx tools/gpu-check/adapter.ts OUT.json
 */
import { writeFileSync } from 'node:fs';
import type { DawnAdapterInfo } from '@oneshot-em/backend-dawn';
import { loadBackendPlugin } from '@oneshot-em/core/node';

const out = process.argv[2];
if (!out) {
  console.error('usage: adapter.ts OUT.json');
  process.exit(2);
}
try {
  const adapters = (await (
    await loadBackendPlugin('dawn')
  ).devices()) as unknown as DawnAdapterInfo[];
  writeFileSync(out, `${JSON.stringify({ adapters }, null, 2)}\n`);
  for (const a of adapters)
    console.log(`[${a.index}] ${a.description} · ${a.api}${a.isFallback ? ' (fallback)' : ''}`);
} catch (e) {
  const error = (e as Error).message;
  writeFileSync(out, `${JSON.stringify({ adapters: [], error }, null, 2)}\n`);
  console.error(error);
  process.exit(1);
}
