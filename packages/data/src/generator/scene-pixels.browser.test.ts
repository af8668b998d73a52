import { Generator } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { goldenScenes, sha256Hex } from '../../test/scene-golden.js';
import {
  decodeImageBrowser,
  rasterizeScene,
  renderScenePngBrowser,
  renderSceneRgbaBrowser,
  type Scene,
  sampleScene,
} from '../browser.js';

// Runs in headless Chromium (`pnpm test:browser`): the OffscreenCanvas renderer of
// @polymodal/data/browser must paint the exact bytes the Node renderer (@napi-rs/canvas) painted
// when fixtures/scene-pixels.json was written.
describe('scene pixels (browser, OffscreenCanvas)', () => {
  it('runs in a real browser', () => {
    expect(typeof OffscreenCanvas).toBe('function');
    expect(navigator.userAgent).toMatch(/Chrome/);
  });

  it('match the golden hashes written with the Node renderer', async () => {
    expect(goldenScenes.length).toBeGreaterThanOrEqual(8);
    for (const { seed, size, objects, layout, sha256 } of goldenScenes) {
      const scene = sampleScene(new Generator(seed), { size, objects, layout });
      const rgba = renderSceneRgbaBrowser(scene);
      expect(await sha256Hex(rgba), `seed ${seed}`).toBe(sha256);
      expect(await sha256Hex(rasterizeScene(scene)), `seed ${seed}`).toBe(sha256);
    }
  });

  it('writes PNGs that decode to the same pixels', async () => {
    const { seed, size, objects, layout } = goldenScenes[0]!;
    const scene = sampleScene(new Generator(seed), { size, objects, layout });
    const img = await decodeImageBrowser(await renderScenePngBrowser(scene), 'scene.png');
    const rgba = rasterizeScene(scene);
    const rgb = Float32Array.from(
      { length: size * size * 3 },
      (_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)]!,
    );
    expect(img.data).toEqual(rgb);
  });

  it('clips and overlaps exactly like the canvas-free rasterizer', () => {
    const scene: Scene = {
      width: 20,
      height: 12,
      objects: [
        { shape: 'circle', color: 'red', size: 'large', x: 1, y: 1, radius: 5 },
        { shape: 'square', color: 'blue', size: 'small', x: 19, y: 11, radius: 4 },
        { shape: 'triangle', color: 'green', size: 'large', x: 10, y: 6, radius: 6 },
        { shape: 'square', color: 'yellow', size: 'small', x: 12, y: 6, radius: 3 },
      ],
    };
    expect(renderSceneRgbaBrowser(scene)).toEqual(rasterizeScene(scene));
  });
});
