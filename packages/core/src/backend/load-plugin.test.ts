import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendLoadError, BackendNotInstalledError, loadBackendPlugin } from './load-plugin.js';

const dir = mkdtempSync(join(tmpdir(), 'oneshot-em-plugin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadBackendPlugin', () => {
  it('a package that is not installed: the message names it and the install command', async () => {
    const err = await loadBackendPlugin('dawn', '@oneshot-em/backend-not-here').catch((e) => e);
    expect(err).toBeInstanceOf(BackendNotInstalledError);
    expect(err.message).toBe(
      '--backend dawn needs the package @oneshot-em/backend-not-here, which is not installed; ' +
        'install it with: npm install @oneshot-em/backend-not-here',
    );
  });

  it('an installed package whose own dependency is missing is a load error, not "not installed"', async () => {
    const file = join(dir, 'needs-missing.mjs');
    writeFileSync(file, "import 'oneshot-em-no-such-native-lib';\nexport const plugin = {};\n");
    const err = await loadBackendPlugin('ort', pathToFileURL(file).href).catch((e) => e);
    expect(err).toBeInstanceOf(BackendLoadError);
    expect(err.message).toContain('oneshot-em-no-such-native-lib');
  });

  it('a package without a plug-in export is refused, naming what was expected', async () => {
    const file = join(dir, 'no-plugin.mjs');
    writeFileSync(file, 'export const createSomething = () => 1;\n');
    await expect(loadBackendPlugin('ort', pathToFileURL(file).href)).rejects.toThrow(
      /does not export a backend plug-in \(expected `export const plugin`/,
    );
  });
});
