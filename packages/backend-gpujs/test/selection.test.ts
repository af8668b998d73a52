/**
 * gpu.js in the measured choice of the default backend: `gpujs` is a candidate only where a GPU
 * mode works, and a software rasteriser (SwiftShader in headless Chromium, llvmpipe under Xvfb)
 * never becomes the default; wasm stays. In plain Node there is no GPU mode: wasm, unmeasured.
 */
import * as T from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { GpujsBackend, hasGpuMode, isSoftwareGl } from '../src/index.js';

afterAll(() => T.setBackend('cpu'));

describe('gpu.js and the default backend', () => {
  it('first use picks wasm over software GL; gpujs is a candidate only with a GPU mode', () => {
    const candidates = T.ENGINE.selectionCandidates().map((c) => c.name);
    expect(candidates.includes('gpujs')).toBe(hasGpuMode());
    T.scope(() => T.ones([2]).add(1).dataSync()); // first use
    expect(T.getBackend()).toBe('wasm');
    const gpujs = T.backendChoice()!.timings.find((t) => t.name === 'gpujs');
    if (hasGpuMode()) expect(gpujs?.skipped).toBe('software GPU emulation');
    else expect(gpujs).toBeUndefined();
  });

  it('tells software renderers from GPUs by the renderer name; no context in webasm mode', () => {
    const backend = new GpujsBackend('webasm');
    expect(backend.renderer()).toBeNull();
    expect(backend.isSoftwareRenderer()).toBe(false);
    expect(
      isSoftwareGl(
        'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
        'webgl2',
      ),
    ).toBe(true);
    expect(isSoftwareGl('llvmpipe (LLVM 15.0.6, 256 bits)', 'webgl')).toBe(true);
    expect(
      isSoftwareGl('ANGLE (NVIDIA, NVIDIA GeForce RTX 4090 Direct3D11 vs_5_0 ps_5_0, D3D11)', 'webgl2'),
    ).toBe(false);
    // Headless-gl says only "ANGLE" (Mesa on the CPU under Xvfb): software unless a GPU is named.
    expect(isSoftwareGl('ANGLE', 'headlessgl')).toBe(true);
    expect(isSoftwareGl(null, 'headlessgl')).toBe(true);
    expect(isSoftwareGl('ANGLE (NVIDIA Corporation, NVIDIA H100/PCIe/SSE2, OpenGL 4.5)', 'headlessgl')).toBe(
      false,
    );
  });
});
