// @ts-check
/**
 * `npx nx g @oneshot-em/tools:objective <name>`: scaffolds packages/objective-<name>, a plugin
 * package whose default export is `defineObjective({...})` and whose test checks its gradient
 * by finite differences (`npx nx test objective-<name>` passes straight away).
 *
 * Plain JavaScript (checked by tsc through JSDoc) so that Nx can load it on Node 20 without a
 * TypeScript loader.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFiles, joinPathFragments, names } from '@nx/devkit';

const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * @typedef {{ name: string; directory?: string }} ObjectiveGeneratorSchema
 */

/**
 * @param {import('@nx/devkit').Tree} tree
 * @param {ObjectiveGeneratorSchema} options
 * @returns {Promise<void>} (Nx would take a returned function as a post-generation task; the
 *   templates are already formatted, so there is no formatting pass)
 */
export async function objectiveGenerator(tree, options) {
  const name = options.name?.trim() ?? '';
  if (!NAME.test(name)) {
    throw new Error(`objective name '${name}'; expected kebab-case, e.g. 'renyi-entropy'`);
  }
  const target = joinPathFragments(options.directory ?? 'packages', `objective-${name}`);
  if (tree.exists(target))
    throw new Error(`${target} already exists; pick another name or remove it`);
  const { className, propertyName } = names(name);
  generateFiles(tree, join(dirname(fileURLToPath(import.meta.url)), 'files'), target, {
    name,
    className,
    propertyName,
    // relative path back to the workspace root, for tsconfig's `extends`
    rootOffset: target
      .split('/')
      .map(() => '..')
      .join('/'),
    tmpl: '',
  });
}

export default objectiveGenerator;
