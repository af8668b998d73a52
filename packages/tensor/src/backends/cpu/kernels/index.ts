import type { KernelConfig } from '../../../kernel-registry.js';
import { adamStepKernel } from './adam-step.js';
import { batchNormKernels } from './batch-norm.js';
import { convKernels } from './conv.js';
import { convNhwcKernels } from './conv-nhwc.js';
import { dropoutKernels } from './dropout.js';
import { elementwiseKernels } from './elementwise.js';
import { gatherKernels } from './gather.js';
import { geluKernels } from './gelu.js';
import { layoutKernels } from './layout.js';
import { matmulKernel } from './matmul.js';
import { normalizationKernels } from './normalization.js';
import { reduceKernelConfigs } from './reduce.js';

/** Every kernel of the reference backend. */
export const CPU_KERNELS: KernelConfig[] = [
  ...elementwiseKernels,
  ...reduceKernelConfigs,
  matmulKernel,
  ...layoutKernels,
  ...gatherKernels,
  ...convKernels,
  ...convNhwcKernels,
  ...normalizationKernels,
  ...batchNormKernels,
  ...geluKernels,
  ...dropoutKernels,
  adamStepKernel,
];
