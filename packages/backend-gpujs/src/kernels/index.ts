import type { KernelConfig } from '@polymodal/tensor';
import type { KernelFactory } from './common.js';
import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { gatherKernels } from './gather.js';
import { layoutKernels } from './layout.js';
import { matmulKernel } from './matmul.js';
import { reduceKernels } from './reduce.js';

const FACTORIES: KernelFactory[] = [
  ...elementwiseKernels,
  ...reduceKernels,
  matmulKernel,
  ...layoutKernels,
  ...gatherKernels,
  ...convKernels,
];

/** The gpu.js kernels, registered under one backend name (one per gpu.js mode). */
export function gpujsKernelConfigs(backendName: string): KernelConfig[] {
  return FACTORIES.map((make) => make(backendName));
}
