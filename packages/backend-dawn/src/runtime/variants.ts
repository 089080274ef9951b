import { optionalMatmulKernels } from '../kernels/matmul/matmul.js';
import {
  type MatmulAvailability,
  OPTIONAL_MATMULS,
  type OptionalMatmul,
} from '../kernels/matmul/variant.js';
import type { WeightDtype } from '../kernels/weights.js';

export type { OptionalMatmul } from '../kernels/matmul/variant.js';

/**
 * Compiles each optional matmul variant (for f32 operands and for the weights' compute-copy
 * dtype) once at start-up. One that fails shader or pipeline validation is left out of the
 * automatic choice, with one line on stderr naming it and the error, never silently: the
 * backend then runs tile16 where it would have chosen it. `broken` replaces a variant's source
 * with invalid WGSL (tests of the fallback).
 */
export async function validateMatmulVariants(
  device: GPUDevice,
  weightDtype: WeightDtype,
  broken: readonly OptionalMatmul[] = [],
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<MatmulAvailability> {
  const out = Object.fromEntries(OPTIONAL_MATMULS.map((v) => [v, true])) as Record<
    OptionalMatmul,
    boolean
  >;
  for (const name of OPTIONAL_MATMULS) {
    const dtypes = [...new Set<WeightDtype>(['f32', weightDtype])];
    for (const k of dtypes.flatMap((d) => optionalMatmulKernels(name, d))) {
      const code = broken.includes(name) ? `${k.source}\nfn broken( {` : k.source;
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ label: k.family, code });
      device.createComputePipeline({
        label: `${k.family}/${k.entry} (validation)`,
        layout: 'auto',
        compute: { module, entryPoint: k.entry, constants: { WG: k.workgroupSize } },
      });
      const error = await device.popErrorScope();
      if (error) {
        const first = error.message.split('\n').find((l) => l.trim()) ?? '';
        warn(
          `oneshot-em: dawn matmul variant ${name} (${k.family}/${k.entry}) failed validation, using tile16 instead: ${first.trim()}`,
        );
        out[name] = false;
        break;
      }
    }
  }
  return out;
}
