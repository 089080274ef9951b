// Types of generator.js (plain JavaScript so Nx loads it on Node 20 without a TypeScript loader).
import type { Tree } from '@nx/devkit';

export interface ObjectiveGeneratorSchema {
  /** kebab-case objective name */
  name: string;
  /** parent folder of the package (default 'packages') */
  directory?: string;
}

export declare function objectiveGenerator(
  tree: Tree,
  options: ObjectiveGeneratorSchema,
): Promise<void>;
export default objectiveGenerator;
