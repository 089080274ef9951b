// ESLint runs one rule here: Nx's module boundaries, the layering of the packages (Biome does
// the formatting and every other lint). Tags are in each package.json's "nx" field:
//   core ← backends ← cli / tools: core imports no backend and no native runtime; a backend
//   imports only core (never the other backend, nor the CLI); the CLI imports only core and
//   reaches the backends through core's plug-in registry (a dynamic import by package name).
import nx from '@nx/eslint-plugin';
import tsParser from '@typescript-eslint/parser';

const NATIVE_ORT = ['onnxruntime-node', 'onnxruntime-common', 'onnx-proto'];
const NATIVE_DAWN = ['webgpu'];

export default [
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/.nx/**',
      '**/out/**',
      '**/runs/**',
      '.carry/**',
      '**/.tmp-*',
    ],
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs'],
    languageOptions: { parser: tsParser, ecmaVersion: 'latest', sourceType: 'module' },
    // other tools' suppression comments are not ESLint's concern
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          // the one workspace-level file a project may import: the shared vitest configuration
          allow: ['^(\\.\\./)+vitest\\.shared\\.js$'],
          depConstraints: [
            {
              sourceTag: 'type:core',
              onlyDependOnLibsWithTags: ['type:core'],
              bannedExternalImports: [...NATIVE_ORT, ...NATIVE_DAWN],
            },
            { sourceTag: 'type:backend', onlyDependOnLibsWithTags: ['type:core'] },
            // each backend keeps to its own native runtime
            { sourceTag: 'scope:backend-ort', bannedExternalImports: NATIVE_DAWN },
            { sourceTag: 'scope:backend-dawn', bannedExternalImports: NATIVE_ORT },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:core', 'type:backend'] },
          ],
        },
      ],
    },
  },
];
