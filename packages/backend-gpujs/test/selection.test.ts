/**
 * gpu.js in the measured choice of the default backend: `gpujs` is a candidate only where a GPU
 * mode works, and a software rasteriser (SwiftShader in headless Chromium, llvmpipe under Xvfb)
 * never becomes the default; wasm stays. In plain Node there is no GPU mode: wasm, unmeasured.
 */
import * as T from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { GpujsBackend, hasGpuMode } from '../src/index.js';

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
    const named = (renderer: string) => {
      const b = new GpujsBackend('webasm');
      b.renderer = () => renderer;
      return b.isSoftwareRenderer();
    };
    expect(
      named('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)'),
    ).toBe(true);
    expect(named('llvmpipe (LLVM 15.0.6, 256 bits)')).toBe(true);
    expect(named('ANGLE (NVIDIA, NVIDIA GeForce RTX 4090 Direct3D11 vs_5_0 ps_5_0, D3D11)')).toBe(false);
  });
});
