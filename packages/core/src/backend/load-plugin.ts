import type { BackendPlugin } from './plugin.js';

/** The backend packages by `--backend` name; each exports `plugin` (see BackendPlugin). */
export const BACKEND_PACKAGES = {
  ort: '@oneshot-em/backend-ort',
  dawn: '@oneshot-em/backend-dawn',
} as const;

export type BackendPackageName = keyof typeof BACKEND_PACKAGES;

/** A backend whose package is not installed: the message names the package and the install command. */
export class BackendNotInstalledError extends Error {
  override name = 'BackendNotInstalledError';
  constructor(
    readonly backend: string,
    readonly packageName: string,
  ) {
    super(
      `--backend ${backend} needs the package ${packageName}, which is not installed; ` +
        `install it with: npm install ${packageName}`,
    );
  }
}

/** A backend package that is installed but does not load (a missing native library, a bad build). */
export class BackendLoadError extends Error {
  override name = 'BackendLoadError';
}

/**
 * Imports a backend package by name and returns its plug-in. The specifier is a value, not a
 * literal, so nothing that calls this depends on any backend package at build time.
 */
export async function loadBackendPlugin(
  name: BackendPackageName,
  /** the package to import (tests name one that does not exist) */
  pkg: string = BACKEND_PACKAGES[name],
): Promise<BackendPlugin> {
  let mod: { plugin?: Partial<BackendPlugin> };
  try {
    mod = await import(pkg);
  } catch (e) {
    if (isMissingPackage(e, pkg)) throw new BackendNotInstalledError(name, pkg);
    throw new BackendLoadError(`cannot load ${pkg}: ${(e as Error).message}`, { cause: e });
  }
  const plugin = mod.plugin;
  if (
    typeof plugin?.create !== 'function' ||
    typeof plugin.diagnose !== 'function' ||
    typeof plugin.devices !== 'function'
  )
    throw new BackendLoadError(
      `${pkg} does not export a backend plug-in (expected \`export const plugin\` with create, diagnose and devices)`,
    );
  return plugin as BackendPlugin;
}

/** Node's error for the package itself not being found (not one of its own dependencies). */
function isMissingPackage(e: unknown, pkg: string): boolean {
  const err = e as { code?: string; message?: string };
  const msg = err?.message ?? '';
  return (
    (err?.code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (package|module)/.test(msg)) &&
    (msg.includes(`'${pkg}'`) || msg.includes(`"${pkg}"`))
  );
}
