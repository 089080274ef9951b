import type { Backend } from './backend.js';

/**
 * The contract between a backend package and the programs that run it (the CLI, the bench, the
 * GPU check). Each backend package exports `plugin: BackendPlugin`; callers know only this type
 * and reach a package through `loadBackendPlugin` (a dynamic import by package name), so an
 * installation without one backend package still type-checks, builds and runs with the others.
 */
export interface BackendPlugin {
  /** The `--backend` name, e.g. `ort`. */
  readonly name: string;
  /** A started backend. Options a backend has no use for are ignored; bad values are refused by name. */
  create(options: BackendCreateOptions): Promise<Backend>;
  /** `oneshot-em doctor`'s checks for this backend: its native library, drivers and devices. */
  diagnose(): Promise<BackendCheck[]>;
  /** The devices the backend can run on, as plain JSON records (the GPU check's report). */
  devices(): Promise<Record<string, unknown>[]>;
}

export interface BackendCreateOptions {
  /** `--device` as given: `cpu`, `cuda`, `cuda:1`, a Dawn adapter index or a name substring. */
  device?: string;
  /** The largest single buffer the run allocates, checked against the device's limits at start. */
  requiredBufferBytes?: number;
  /** The dtype of the weights' compute copy (`--dtype`); `auto` decides from `baseDtype`. */
  dtype?: 'auto' | 'f32' | 'bf16' | 'f16';
  /** The base model's storage dtype, for `dtype: 'auto'`. */
  baseDtype?: 'f32' | 'bf16' | 'f16';
  /** Backend-specific options (the bench's `--dawn-options`), validated by the backend. */
  extra?: Record<string, unknown>;
}

/** One line of `oneshot-em doctor`. */
export interface BackendCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** The command or step that fixes a failed check. */
  fix?: string;
  /** A failure that leaves the backend usable (an optional accelerator): doctor still passes. */
  optional?: boolean;
}
