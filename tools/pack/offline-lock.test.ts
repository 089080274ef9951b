import { describe, expect, it } from 'vitest';
import { offlineLock } from './offline-lock.js';

/** A made-up workspace lockfile: two workspace packages, hoisted and nested third-party ones. */
const workspace = {
  packages: {
    '': { name: 'ws' },
    'node_modules/@s/lib': { resolved: 'packages/lib', link: true },
    'node_modules/@s/app': { resolved: 'packages/app', link: true },
    'packages/lib': { version: '1.0.0', dependencies: { a: '^1', native: '^3' } },
    'packages/lib/node_modules/native': { version: '3.0.0', integrity: 'sha512-n' },
    'packages/app': {
      version: '1.0.0',
      dependencies: { '@s/lib': '1.0.0', b: '^2' },
      optionalDependencies: { 'other-platform': '^1' },
      peerDependencies: { '@s/lib': '1.0.0', c: '^1' },
      peerDependenciesMeta: { c: { optional: true } },
    },
    'node_modules/a': { version: '1.2.0', integrity: 'sha512-a', dependencies: { b: '^1' } },
    'node_modules/a/node_modules/b': { version: '1.9.0', integrity: 'sha512-b1' },
    'node_modules/b': { version: '2.1.0', integrity: 'sha512-b2' },
    'node_modules/unused': { version: '9.0.0', integrity: 'sha512-u', dev: true },
  },
};

const packed = [
  { name: '@s/lib', dir: 'packages/lib', tarball: '../tgz/s-lib-1.0.0.tgz' },
  { name: '@s/app', dir: 'packages/app', tarball: '../tgz/s-app-1.0.0.tgz' },
];

describe('offlineLock', () => {
  it("keeps the workspace's tree: hoisted and nested versions, a workspace package's own deps under it", () => {
    const { lock, packageJson } = offlineLock(workspace, packed, 'x');
    const p = (lock as { packages: Record<string, { version?: string; resolved?: string }> })
      .packages;
    expect(Object.keys(p).sort()).toEqual(
      [
        '',
        'node_modules/@s/app',
        'node_modules/@s/lib',
        'node_modules/@s/lib/node_modules/native',
        'node_modules/a',
        'node_modules/a/node_modules/b',
        'node_modules/b',
      ].sort(),
    );
    expect(p['node_modules/a/node_modules/b'].version).toBe('1.9.0');
    expect(p['node_modules/b'].version).toBe('2.1.0');
    expect(p['node_modules/@s/app'].resolved).toBe('file:../tgz/s-app-1.0.0.tgz');
    expect(packageJson).toEqual({
      name: 'x',
      private: true,
      dependencies: {
        '@s/lib': 'file:../tgz/s-lib-1.0.0.tgz',
        '@s/app': 'file:../tgz/s-app-1.0.0.tgz',
      },
    });
  });

  it('a dependency the lockfile does not have is an error naming who needs it', () => {
    const broken = structuredClone(workspace);
    delete (broken.packages as Record<string, unknown>)['node_modules/b'];
    expect(() => offlineLock(broken, packed)).toThrow(
      'packages/app needs b, which it does not lock',
    );
  });
});
