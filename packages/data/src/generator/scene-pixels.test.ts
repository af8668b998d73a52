import { Generator } from '@polymodal/tensor';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { goldenScenes, sha256Hex } from '../../test/scene-golden.js';
import { rasterizeScene, shapeSpans } from './draw-scene.js';
import { renderScenePng, renderSceneRgba } from './render-scene.js';
import { type Scene, type SceneObject, sampleScene } from './scene.js';

const object = (shape: SceneObject['shape'], x: number, y: number, radius: number): SceneObject => ({
  shape,
  color: 'red',
  size: 'small',
  x,
  y,
  radius,
});

/** Rows → covered columns as text (no trailing blanks), e.g. for a 2-px square: ['##', '##']. */
function picture(o: SceneObject): string[] {
  const spans = shapeSpans(o, 100, 100);
  const left = Math.min(...spans.map((s) => s.x));
  return spans.map((s) => ' '.repeat(s.x - left) + '#'.repeat(s.width));
}

describe('scene pixels (Node, @napi-rs/canvas)', () => {
  it('match the golden hashes that the browser renderer must also reproduce', async () => {
    expect(goldenScenes.length).toBeGreaterThanOrEqual(8);
    for (const { seed, size, objects, layout, sha256 } of goldenScenes) {
      const scene = sampleScene(new Generator(seed), { size, objects, layout });
      const rgba = await renderSceneRgba(scene);
      expect(await sha256Hex(rgba), `seed ${seed}`).toBe(sha256);
      // The canvas-free rasterizer computes the same bytes.
      expect(await sha256Hex(rasterizeScene(scene)), `seed ${seed}`).toBe(sha256);
      // …and the PNG the generator writes holds exactly them.
      expect(PNG.sync.read(await renderScenePng(scene)).data.equals(Buffer.from(rgba))).toBe(true);
    }
  });

  it('covers whole pixels by their centres: symmetric circles, 2r-wide squares, triangles', () => {
    expect(picture(object('square', 10, 10, 2))).toEqual(['####', '####', '####', '####']);
    expect(picture(object('circle', 10, 10, 3))).toEqual([
      ' ####',
      '######',
      '######',
      '######',
      '######',
      ' ####',
    ]);
    // The apex row's pixel centres all fall outside the tip: a triangle is 2r − 1 rows tall.
    expect(picture(object('triangle', 10, 10, 3))).toEqual(['  ##', '  ##', ' ####', ' ####', '######']);
    for (const shape of ['circle', 'square', 'triangle'] as const) {
      for (const r of [1, 4, 5, 7, 9]) {
        const rows = picture(object(shape, 30, 30, r));
        expect(rows.length, `${shape} r ${r}`).toBe(shape === 'triangle' ? 2 * r - 1 : 2 * r);
        for (const row of rows) expect(row.trimEnd().length).toBe(2 * r - row.indexOf('#')); // centred
        if (shape !== 'triangle') expect(rows).toEqual([...rows].reverse());
      }
    }
  });

  it('clips shapes at the border and paints later objects over earlier ones, like the canvas', async () => {
    const scene: Scene = {
      width: 20,
      height: 12,
      objects: [
        object('circle', 1, 1, 5),
        { ...object('square', 19, 11, 4), color: 'blue' },
        { ...object('triangle', 10, 6, 6), color: 'green' },
        { ...object('square', 12, 6, 3), color: 'yellow' },
      ],
    };
    for (const o of scene.objects) {
      for (const s of shapeSpans(o, scene.width, scene.height)) {
        expect(s.x).toBeGreaterThanOrEqual(0);
        expect(s.x + s.width).toBeLessThanOrEqual(scene.width);
        expect(s.y).toBeGreaterThanOrEqual(0);
        expect(s.y).toBeLessThan(scene.height);
      }
    }
    const rgba = rasterizeScene(scene);
    expect(Buffer.from(await renderSceneRgba(scene)).equals(Buffer.from(rgba))).toBe(true);
    // Pixel (12, 6) is under the yellow square drawn last.
    expect([...rgba.subarray((6 * 20 + 12) * 4, (6 * 20 + 12) * 4 + 4)]).toEqual([240, 220, 20, 255]);
  });
});
