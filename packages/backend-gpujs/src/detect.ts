import { GPU } from 'gpu.js';
import type { GpujsMode } from './gpujs-backend.js';

/**
 * The best synchronous gpu.js mode here: a GPU mode when one works (headless-gl in Node, WebGL2
 * or WebGL in a browser), else WebAssembly. WebGPU is asynchronous and only used when named.
 */
export function detectGpujsMode(): GpujsMode {
  if (GPU.isHeadlessGLSupported) return 'headlessgl';
  if (GPU.isWebGL2Supported) return 'webgl2';
  if (GPU.isWebGLSupported) return 'webgl';
  if ((GPU as unknown as { isWebAssemblySupported?: boolean }).isWebAssemblySupported !== false)
    return 'webasm';
  return 'cpu';
}

/** Whether a real GPU mode (not the CPU fallbacks) is available. */
export function hasGpuMode(): boolean {
  const mode = detectGpujsMode();
  return mode === 'headlessgl' || mode === 'webgl2' || mode === 'webgl';
}
