import type { SubgroupMatrixShape } from '../../runtime/device.js';
import { family, type KernelDescriptor, wgsl } from '../kernel.js';
import { WEIGHT_FRAGMENTS, type WeightDtype, weightInterface } from '../weights.js';
import { MATMUL_INTERFACE } from './interface.js';

const body = `${wgsl(import.meta.url, './matmul-common.wgsl')}\n${wgsl(import.meta.url, './matmul-sgmat.wgsl')}`;
const built = new Map<string, KernelDescriptor>();

/**
 * The subgroup-matrix matmul for the adapter's f16 → f32 fragment shape and b stored as
 * `dtype`: the source is generated per shape (the fragment sizes are WGSL types' parameters,
 * which must be constants), built once per shape and dtype.
 */
export function matmulSubgroupMatrix(
  shape: SubgroupMatrixShape,
  dtype: WeightDtype,
): KernelDescriptor {
  const name = `matmul-sgmat-${shape.m}x${shape.n}x${shape.k}${dtype === 'f32' ? '' : `+${dtype}`}`;
  let k = built.get(name);
  if (!k) {
    // enables must precede every declaration: the f16 fragment's own `enable f16;` goes
    const fragment = WEIGHT_FRAGMENTS[dtype].replace('enable f16;\n', '');
    const source = [
      'enable f16;',
      'enable chromium_experimental_subgroup_matrix;',
      `const SM: u32 = ${shape.m}u;`,
      `const SN: u32 = ${shape.n}u;`,
      `const SK: u32 = ${shape.k}u;`,
      fragment,
      body,
    ].join('\n');
    k = family(name, source, weightInterface(MATMUL_INTERFACE, dtype), {
      matmul: {
        uses: ['a', 'b', 'out'],
        workgroupSize: shape.subgroupMaxSize,
        requires: 'shader-f16',
      },
    }).matmul;
    built.set(name, k);
  }
  return k;
}

/** Workgroups of the subgroup-matrix kernel: tiles of 4·m × 4·n outputs. */
export function subgroupMatrixGrid(
  shape: SubgroupMatrixShape,
  m: number,
  n: number,
): [number, number] {
  return [Math.ceil(n / (4 * shape.n)), Math.ceil(m / (4 * shape.m))];
}
