/**
 * @polymodal/tensor/backend: what a backend package needs beyond the public API — the kernel name
 * lists, stride and broadcasting helpers, the reduction layout the cpu kernels use, and the op
 * conformance table with its runner, so every backend is held to the same cpu reference (as
 * `@polymodal/backend-gpujs` is).
 *
 * ```ts
 * import { registerBackend, registerKernels } from '@polymodal/tensor';
 * import { CONFORMANCE_CASES, conformanceMismatches, runConformanceCase } from '@polymodal/tensor/backend';
 * ```
 */
export { reductionLayout } from './backends/cpu/kernels/reduce.js';
export * from './kernel-names.js';
export { broadcastStrides, collapseDims, contiguousStrides } from './shape.js';
export { type ConformanceResult, conformanceMismatches, runConformanceCase } from './testing/conformance.js';
export { CONFORMANCE_CASES, type ConformanceCase } from './testing/conformance-cases.js';
