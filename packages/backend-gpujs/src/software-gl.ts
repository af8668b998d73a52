import type { GpujsMode } from './gpujs-backend.js';

/** Renderer names of software rasterisers. */
const SOFTWARE = /swiftshader|llvmpipe|softpipe|lavapipe|software/i;
/** Renderer names that prove a hardware GPU. */
const HARDWARE = /nvidia|geforce|quadro|tesla|amd|radeon|intel|apple|mali|adreno|powervr/i;

/**
 * Whether a GL renderer is a software rasteriser (a CPU pretending to be a GPU, tens of times
 * slower than the wasm backend). A name that says so (SwiftShader, llvmpipe) is software. Headless-gl
 * reports only `ANGLE`, whatever draws underneath (under Xvfb: Mesa on the CPU, about 60× slower
 * than wasm on a 512² matmul), so there anything but a named GPU vendor counts as software.
 *
 * ```ts
 * isSoftwareGl('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device …))', 'webgl2'); // true
 * isSoftwareGl('ANGLE', 'headlessgl'); // true
 * ```
 */
export function isSoftwareGl(renderer: string | null, mode: GpujsMode): boolean {
  if (renderer !== null && SOFTWARE.test(renderer)) return true;
  if (mode === 'headlessgl') return renderer === null || !HARDWARE.test(renderer);
  return false;
}
