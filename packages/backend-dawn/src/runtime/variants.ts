import { optionalMatmulKernels } from '../kernels/matmul/matmul.js';
import {
  type MatmulAvailability,
  type MatmulVariant,
  OPTIONAL_MATMULS,
  type OptionalMatmul,
} from '../kernels/matmul/variant.js';
import type { WeightDtype } from '../kernels/weights.js';
import { SUBGROUP_MATRIX_FEATURE, type SubgroupMatrixShape } from './device.js';

export type { OptionalMatmul } from '../kernels/matmul/variant.js';

export interface MatmulValidation {
  /** The weights' compute-copy dtype: each variant is compiled for it and for f32. */
  weightDtype: WeightDtype;
  /** The adapter's f16 subgroup-matrix shape; without it sgmat is unavailable. */
  subgroupMatrix?: SubgroupMatrixShape;
  /** The `matmul` option: asking for sgmat where the feature is missing gets a notice. */
  requested?: MatmulVariant;
  /** Tests of the fallback: these variants get invalid WGSL. */
  broken?: readonly OptionalMatmul[];
}

/**
 * Compiles each optional matmul variant (for f32 operands and for the weights' compute-copy
 * dtype) once at start-up. One that fails shader or pipeline validation is left out of the
 * automatic choice, with one line on stderr naming it and the error, never silently: the
 * backend then runs tile16 where it would have chosen it. sgmat exists only with the
 * subgroup-matrix feature; asked for without it, one line says so.
 */
export async function validateMatmulVariants(
  device: GPUDevice,
  v: MatmulValidation,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<MatmulAvailability> {
  const out = Object.fromEntries(OPTIONAL_MATMULS.map((name) => [name, true])) as Record<
    OptionalMatmul,
    boolean
  >;
  const dtypes = [...new Set<WeightDtype>(['f32', v.weightDtype])];
  for (const name of OPTIONAL_MATMULS) {
    if (name === 'sgmat' && !v.subgroupMatrix) {
      out.sgmat = false;
      if (v.requested === 'sgmat')
        warn(
          `oneshot-em: dawn matmul variant sgmat needs the adapter feature ${SUBGROUP_MATRIX_FEATURE} with an f16 → f32 config (and shader-f16), which this adapter lacks (experimentalFeatures: true may expose it); using tile16 instead`,
        );
      continue;
    }
    for (const k of dtypes.flatMap((d) => optionalMatmulKernels(name, d, v.subgroupMatrix))) {
      const code = v.broken?.includes(name) ? `${k.source}\nfn broken( {` : k.source;
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
