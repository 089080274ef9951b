/**
 * Embeds the default model: copies stories260K (llama2.c checkpoint + tokenizer) from the shared
 * folder into packages/core/assets/stories260K/llama2c/, checking the published sha256s, and
 * writes the converted Hugging Face directory beside it, with PROVENANCE.md and LICENSE.
 *
 *   npx tsx tools/scripts/embed-stories260k.ts [--source DIR]
 *
 * The source defaults to ../shared/models/stories260K (relative to the repository root). Run it
 * again after a change to the converter or the tokenizer export; the output is deterministic.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { convertLlama2c } from '@oneshot-em/core/node';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    source: {
      type: 'string',
      default: path.join(repoRoot, '..', 'shared', 'models', 'stories260K'),
    },
  },
});
const source = path.resolve(values.source as string);
const target = path.join(repoRoot, 'packages', 'core', 'assets', 'stories260K');

/** The sha256 of each file as published in the source README's table (`| file | what | sha256 |`). */
function publishedSha256s(readme: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readme.matchAll(/^\|\s*(\S+\.bin)\s*\|[^|]*\|\s*([0-9a-f]{64})\s*\|/gm))
    out.set(m[1], m[2]);
  return out;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const published = publishedSha256s(fs.readFileSync(path.join(source, 'README.md'), 'utf8'));
const originalBytes = new Map<string, Buffer>();
const digests: Record<string, string> = {};
for (const name of ['stories260K.bin', 'tok512.bin']) {
  const bytes = fs.readFileSync(path.join(source, name));
  const digest = sha256(bytes);
  if (published.get(name) !== digest) {
    throw new Error(
      `${path.join(source, name)}: sha256 ${digest} differs from the published ${published.get(name)}`,
    );
  }
  originalBytes.set(name, bytes);
  digests[name] = digest;
}

const provenance = `# stories260K — provenance

A 260K-parameter Llama-architecture model trained on TinyStories, published by Andrej Karpathy
in llama2.c's checkpoint format (karpathy/tinyllamas on the Hugging Face Hub; model card
licence: MIT, see LICENSE). Copied into this repository from the project's shared folder
(\`shared/models/stories260K\`), whose files are byte-identical to the published ones.

| file | what | sha256 |
| --- | --- | --- |
| llama2c/stories260K.bin | llama2.c checkpoint (legacy v0 layout, float32), unchanged | ${digests['stories260K.bin']} |
| llama2c/tok512.bin | its 512-token llama2.c tokenizer (BOS=1, EOS=2), unchanged | ${digests['tok512.bin']} |

Everything else in this directory is derived from those two files by
\`npx tsx tools/scripts/embed-stories260k.ts\`, which runs the conversion of
\`oneshot-em convert llama2c\` (\`convertLlama2c\`, packages/core/src/io/llama2c-convert.ts):

- \`config.json\`, \`model.safetensors\` (float32), \`generation_config.json\`: \`parseLlama2c\`,
  \`llama2cToModel\` and \`toHalfRope\` (packages/core/src/io/llama2c.ts), which permutes the rows
  of wq/wk per head so that Hugging Face's rotate-half RoPE reproduces the original interleaved
  model's logits, then \`saveHfModel\` (packages/core/src/io/hf-model.ts).
- \`tokenizer.json\`, \`tokenizer_config.json\`: \`llama2cTokenizerToHfJson\`
  (packages/core/src/tokenizer/llama2c-to-hf.ts); \`tokenizer.bin\` is the original tokenizer.

Architecture: dim 64, hidden 172, 5 layers, 8 heads, 4 kv heads, vocab 512 (tied classifier),
context 512, RMSNorm eps 1e-5, RoPE theta 10000.
`;

const license = `The stories260K model files (llama2c/stories260K.bin, llama2c/tok512.bin) and the files derived
from them in this directory are distributed under the MIT License:

MIT License

Copyright (c) 2023 Andrej Karpathy

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;

// The same conversion as `oneshot-em convert llama2c`, plus the originals and their
// provenance, in one atomic save: the directory is replaced whole, never left half-converted.
convertLlama2c({
  checkpoint: path.join(source, 'stories260K.bin'),
  tokenizer: path.join(source, 'tok512.bin'),
  out: target,
  extraFiles: {
    'llama2c/stories260K.bin': originalBytes.get('stories260K.bin') as Buffer,
    'llama2c/tok512.bin': originalBytes.get('tok512.bin') as Buffer,
    'PROVENANCE.md': provenance,
    LICENSE: license,
  },
});
console.log(`wrote ${target}: ${fs.readdirSync(target).join(', ')}`);
