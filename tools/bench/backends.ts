/**
 * Backends by bench name: `reference`, `ort` (CPU EP), `ort:cuda` / `ort:cuda:N`, `dawn` and
 * `dawn:<adapter index or name substring>`. Backend packages are plug-ins loaded by name through
 * core's registry, like the CLI's, so a machine without one still benchmarks the others.
 */
import { type Backend, createReferenceBackend } from '@oneshot-em/core';
import { loadBackendPlugin } from '@oneshot-em/core/node';

export interface BackendSpec {
  /** as given on the command line, e.g. `ort:cuda` */
  label: string;
  kind: 'reference' | 'ort' | 'dawn';
  device?: string;
}

export function parseBackendSpec(label: string): BackendSpec {
  const [kind, ...rest] = label.split(':');
  const device = rest.length > 0 ? rest.join(':') : undefined;
  if (kind !== 'reference' && kind !== 'ort' && kind !== 'dawn') {
    throw new Error(
      `--backend ${label}: expected reference, ort[:cpu|:cuda|:cuda:N] or dawn[:adapter]`,
    );
  }
  return { label, kind, device };
}

/** Options a caller may pass through to the backend (Dawn's largest single buffer). */
export interface CreateOptions {
  requiredBufferBytes?: number;
  /** more createDawnBackend options, as given (`--dawn-options`: a binding cap, poolBytes …) */
  dawn?: Record<string, unknown>;
}

export async function createBenchBackend(
  spec: BackendSpec,
  opts: CreateOptions = {},
): Promise<Backend> {
  if (spec.kind === 'reference') return createReferenceBackend({ precision: 'f32' });
  const plugin = await loadBackendPlugin(spec.kind);
  return plugin.create({
    device: spec.device,
    requiredBufferBytes: opts.requiredBufferBytes,
    extra: spec.kind === 'dawn' ? opts.dawn : undefined,
  });
}

/** Live GPU buffers where the backend reports them (Dawn's pool), else null. */
export function gpuBuffers(backend: Backend): number | null {
  const b = backend as Backend & { liveBuffers?: () => number };
  return typeof b.liveBuffers === 'function' ? b.liveBuffers() : null;
}
