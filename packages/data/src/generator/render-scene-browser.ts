/** Browser renderer: the same drawing commands on an OffscreenCanvas (not imported by Node code). */
import { drawScene } from './draw-scene.js';
import type { Scene } from './scene.js';

function drawnCanvas(scene: Scene, caller: string) {
  const canvas = new OffscreenCanvas(scene.width, scene.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error(`${caller}: OffscreenCanvas 2d context unavailable`);
  drawScene(ctx, scene);
  return { canvas, ctx };
}

/**
 * Renders a scene to a PNG Blob in a browser or web worker, with the same pixels as the Node
 * renderer (`drawScene` paints only whole-pixel opaque rectangles).
 *
 * ```ts
 * const blob = await renderScenePngBrowser(sampleScene(new Generator(1), { size: 64 }));
 * ```
 */
export async function renderScenePngBrowser(scene: Scene): Promise<Blob> {
  return drawnCanvas(scene, 'renderScenePngBrowser').canvas.convertToBlob({ type: 'image/png' });
}

/**
 * Renders a scene on an OffscreenCanvas and returns its RGBA bytes (`width·height·4`), equal to
 * the Node renderer's `renderSceneRgba` and to `rasterizeScene`.
 *
 * ```ts
 * const rgba = renderSceneRgbaBrowser(sampleScene(new Generator(1), { size: 64 }));
 * ```
 */
export function renderSceneRgbaBrowser(scene: Scene): Uint8ClampedArray {
  const { ctx } = drawnCanvas(scene, 'renderSceneRgbaBrowser');
  return ctx.getImageData(0, 0, scene.width, scene.height).data;
}
