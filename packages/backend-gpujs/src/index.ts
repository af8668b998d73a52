/**
 * @polymodal/backend-gpujs: @polymodal/tensor kernels on gpu.js — GLSL through WebGL2/WebGL in a
 * browser and headless-gl in Node, WGSL through WebGPU, plus gpu.js's WebAssembly and CPU modes.
 * Importing the package registers the backends (`gpujs`, `gpujs-webgl2`, …); select one with
 * `setBackend('gpujs')`.
 *
 * ```ts
 * import '@polymodal/backend-gpujs';
 * import { randn, setBackend } from '@polymodal/tensor';
 * setBackend('gpujs');
 * const y = randn([512, 512]).matmul(randn([512, 512]));
 * ```
 */
import { registerGpujsBackends } from './register.js';

registerGpujsBackends();

export { detectGpujsMode, hasGpuMode } from './detect.js';
export { GpujsBackend, type GpujsMode } from './gpujs-backend.js';
export { GPUJS_MODES, registerGpujsBackends } from './register.js';
export { isSoftwareGl } from './software-gl.js';
