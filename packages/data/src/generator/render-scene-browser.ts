/** Browser renderer: the same drawing commands on an OffscreenCanvas (not imported by Node code). */
import { drawScene } from './draw-scene.js';
import type { Scene } from './scene.js';

/**
 * Renders a scene to a PNG Blob in a browser or web worker.
 *
 * ```ts
 * const blob = await renderScenePngBrowser(sampleScene(new Generator(1), { size: 64 }));
 * ```
 */
export async function renderScenePngBrowser(scene: Scene): Promise<Blob> {
  const canvas = new OffscreenCanvas(scene.width, scene.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('renderScenePngBrowser: OffscreenCanvas 2d context unavailable');
  drawScene(ctx, scene);
  return canvas.convertToBlob({ type: 'image/png' });
}
