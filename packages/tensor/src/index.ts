/**
 * @polymodal/tensor: N-d tensors with reverse-mode autograd, on WebAssembly SIMD kernels (`wasm`)
 * and a plain TypeScript reference backend (`cpu`). GPU kernels are a separate package
 * (`@polymodal/backend-gpujs`) that registers itself when imported.
 */
import { registerBuiltinBackends } from './backends/register.js';

registerBuiltinBackends();

export { grad, valueAndGrad } from './autograd/functional.js';
export {
  type GradConfig,
  type GradContext,
  getGradient,
  registerGradient,
} from './autograd/gradient-registry.js';
export { sumToShape } from './autograd/gradients.js';
export type { Backend, BackendMemory, DataId, TensorInfo } from './backend.js';
export {
  type BackendTiming,
  backendChoice,
  fastestBackend,
  ready,
  SELECTION_MATMUL_SIZE,
} from './backend-selection.js';
export { WasmBackend } from './backends/wasm/wasm-backend.js';
export type { DType, TypedArray } from './dtype.js';
export {
  type BackendOptions,
  creationMark,
  disposeTensors,
  ENGINE,
  getBackend,
  isAnomalyEnabled,
  isGradEnabled,
  keep,
  type MemoryInfo,
  memory,
  noGrad,
  scope,
  setAnomalyMode,
  setBackend,
  tensorsIn,
  withAnomalyMode,
} from './engine.js';
export * from './errors/index.js';
export type { KernelAttrs, KernelName } from './kernel-names.js';
export {
  getKernel,
  type KernelArgs,
  type KernelConfig,
  listKernels,
  type RegisterKernelOptions,
  registerKernel,
  registerKernels,
} from './kernel-registry.js';
export * from './ops/index.js';
export { type KernelProfile, type KernelTiming, profile } from './profile.js';
export {
  Generator,
  generatorFrom,
  getDefaultGenerator,
  manualSeed,
  type RandomOptions,
} from './random.js';
/** The scalar erf the cpu kernels use (Abramowitz & Stegun 7.1.26), for host-side math such as sampling. */
export { erf as scalarErf } from './scalar-math.js';
export { broadcastShapes, formatShape, type Shape, sizeOf } from './shape.js';
export { type NestedArray, Tensor } from './tensor.js';
export { type GradCheckOptions, type GradCheckResult, gradCheck } from './testing/grad-check.js';
export { type NoSyncBackend, registerNoSyncBackend } from './testing/no-sync-backend.js';
export {
  assertDType,
  assertShape,
  assertTensor,
  checkInRange,
  checkPositiveInt,
  type RangeBounds,
} from './validation.js';

/**
 * Registers a backend under `name`; `setBackend(name)` creates it on first use. With
 * `{ autoSelect: true }` it is measured against the other candidates for the default backend
 * (`ready()`); `isSoftware` keeps a software GPU emulation from being chosen automatically.
 */
export function registerBackend(
  name: string,
  factory: () => import('./backend.js').Backend,
  options: import('./engine.js').BackendOptions = {},
): void {
  ENGINE_REF.registerBackend(name, factory, options);
}

import { ENGINE as ENGINE_REF } from './engine.js';
