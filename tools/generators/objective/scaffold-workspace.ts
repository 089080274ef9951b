import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { objectiveGenerator } from './generator.js';

/** The workspace root (this checkout). */
export const root = join(import.meta.dirname, '..', '..', '..');

/** Copies every file under `dir` of the tree to `dest` on disk. */
function writeTree(tree: Tree, dir: string, dest: string): void {
  for (const child of tree.children(dir)) {
    const path = `${dir}/${child}`;
    if (tree.isFile(path)) {
      mkdirSync(dirname(join(dest, path)), { recursive: true });
      writeFileSync(join(dest, path), tree.read(path) as Buffer);
    } else writeTree(tree, path, dest);
  }
}

/**
 * Generates objective `name` into `workspace`, a copy of the workspace layout: packages/ with the
 * new package, tsconfig.base.json, and the shared node_modules linked (it has never heard of the
 * new package, as after `nx g` without an npm install).
 */
export async function scaffoldInWorkspace(name: string, workspace: string): Promise<void> {
  const tree = createTreeWithEmptyWorkspace();
  await objectiveGenerator(tree, { name });
  writeTree(tree, 'packages', workspace);
  copyFileSync(join(root, 'tsconfig.base.json'), join(workspace, 'tsconfig.base.json'));
  symlinkSync(join(root, 'node_modules'), join(workspace, 'node_modules'), 'dir');
}
