import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The public API of @oneshot-em/core, pinned: every name its three entry points export, with its
 * kind, sorted. An export added, removed or changed in kind fails here; when the change is
 * intended, update the snapshot (`npx vitest run --root packages/core src/api.test.ts -u`) and
 * say why in the commit. The curation (what belongs in which entry): docs/architecture.md#packages-and-layering.
 */
const ENTRIES = {
  '@oneshot-em/core': 'index.ts',
  '@oneshot-em/core/node': 'node.ts',
  '@oneshot-em/core/testing': 'testing.ts',
};

function kindOf(checker: ts.TypeChecker, symbol: ts.Symbol): string {
  const s = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const f = s.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Variable) return 'const';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  return 'other';
}

function publicApi(): string {
  const dir = import.meta.dirname;
  const config = ts.getParsedCommandLineOfConfigFile(
    join(dir, '..', 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('packages/core/tsconfig.json: not readable');
  const files = Object.values(ENTRIES).map((f) => join(dir, f));
  const program = ts.createProgram(files, config.options);
  const checker = program.getTypeChecker();
  const lines: string[] = [];
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const source = program.getSourceFile(join(dir, file));
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`${file}: not a module`);
    const names = checker
      .getExportsOfModule(module)
      .map((s) => `${kindOf(checker, s)} ${s.name}`)
      .sort((a, b) => a.split(' ')[1].localeCompare(b.split(' ')[1]));
    lines.push(`# ${entry} (${names.length})`, ...names, '');
  }
  return lines.join('\n');
}

describe('the public API of @oneshot-em/core', () => {
  it('exports exactly the pinned names and kinds', async () => {
    await expect(
      publicApi(),
      'the public API changed; if intended: npx vitest run --root packages/core src/api.test.ts -u, and commit src/__snapshots__/api.txt',
    ).toMatchFileSnapshot('./__snapshots__/api.txt');
  });
});
