/**
 * A package-lock.json for a folder that installs our packed tarballs, with every third-party
 * package at the version and integrity the workspace's own lockfile pins. `npm install
 * --offline` then reads each one from the npm cache that `npm ci` filled, by integrity, with no
 * registry metadata needed (a lockfile-less offline install would need every package's
 * registry document cached, which `npm ci` never fetches). The tree is the workspace's:
 * deps hoisted to the root stay there, and a workspace package's own nested deps
 * (packages/backend-ort/node_modules/…) go under its installed folder.
 */

interface LockEntry {
  version?: string;
  resolved?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

export interface PackedPackage {
  /** e.g. `@oneshot-em/core` */
  name: string;
  /** the workspace folder, e.g. `packages/core` */
  dir: string;
  /** the tarball, relative to the install folder: `../tgz/oneshot-em-core-0.1.0.tgz` */
  tarball: string;
}

/** `node_modules/a/node_modules/b` → `node_modules/a`; `node_modules/@s/a` or `packages/x` → '' */
function parentOf(path: string): string {
  const i = path.lastIndexOf('/node_modules/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Node's lookup of `dep` from the package at `from`, in the lockfile's paths. */
function resolveIn(
  packages: Record<string, LockEntry>,
  from: string,
  dep: string,
): string | undefined {
  for (let p = from; ; p = parentOf(p)) {
    const candidate = `${p ? `${p}/` : ''}node_modules/${dep}`;
    if (packages[candidate]) return candidate;
    if (p === '') return undefined;
  }
}

export function offlineLock(
  workspaceLock: { packages: Record<string, LockEntry> },
  packed: PackedPackage[],
  rootName = 'oneshot-em-pack-test',
): { lock: object; packageJson: object } {
  const ws = workspaceLock.packages;
  const byDir = new Map(packed.map((p) => [p.dir, p]));
  const out: Record<string, LockEntry> = {};
  /** workspace lock path → the path in the new tree */
  const target = (path: string): string => {
    for (const p of packed)
      if (path.startsWith(`${p.dir}/`))
        return `node_modules/${p.name}/${path.slice(p.dir.length + 1)}`;
    return path;
  };
  const queue: string[] = [];
  const visit = (from: string, deps: Record<string, string> | undefined, optional: boolean) => {
    for (const dep of Object.keys(deps ?? {})) {
      let found = resolveIn(ws, from, dep);
      if (found && ws[found].link) found = ws[found].resolved; // a workspace package
      if (!found) {
        if (optional) continue; // an optional dependency for another platform, not locked here
        throw new Error(
          `package-lock.json: ${from || 'root'} needs ${dep}, which it does not lock`,
        );
      }
      if (byDir.has(found)) continue; // one of the tarballs
      const dest = target(found);
      if (!out[dest]) {
        out[dest] = { ...ws[found] };
        queue.push(found);
      }
    }
  };
  for (const p of packed) {
    const entry = ws[p.dir];
    if (!entry) throw new Error(`package-lock.json has no entry for ${p.dir}`);
    const { resolved: _r, link: _l, ...rest } = entry;
    out[`node_modules/${p.name}`] = { ...rest, resolved: `file:${p.tarball}` };
    visit(p.dir, entry.dependencies, false);
    visit(p.dir, entry.optionalDependencies, true);
    const peers = Object.entries(entry.peerDependencies ?? {}).filter(
      ([n]) => !entry.peerDependenciesMeta?.[n]?.optional,
    );
    visit(p.dir, Object.fromEntries(peers), false);
  }
  while (queue.length > 0) {
    const from = queue.shift()!;
    const e = ws[from];
    visit(from, e.dependencies, false);
    visit(from, e.optionalDependencies, true);
    const peers = Object.entries(e.peerDependencies ?? {}).filter(
      ([n]) => !e.peerDependenciesMeta?.[n]?.optional,
    );
    visit(from, Object.fromEntries(peers), false);
  }
  const dependencies = Object.fromEntries(packed.map((p) => [p.name, `file:${p.tarball}`]));
  const packageJson = { name: rootName, private: true, dependencies };
  const lock = {
    name: rootName,
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: rootName, dependencies }, ...out },
  };
  return { lock, packageJson };
}
