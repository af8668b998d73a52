import { drawScene } from './draw-scene.js';
import type { Scene } from './scene.js';

type CanvasModule = typeof import('@napi-rs/canvas');
let canvasModule: Promise<CanvasModule> | null = null;

/**
 * Renders a scene to PNG bytes in Node with @napi-rs/canvas (loaded on first use).
 *
 * ```ts
 * await writeFile('scene.png', await renderScenePng(scene));
 * ```
 */
export async function renderScenePng(scene: Scene): Promise<Buffer> {
  canvasModule ??= import('@napi-rs/canvas');
  const { createCanvas } = await canvasModule;
  const canvas = createCanvas(scene.width, scene.height);
  drawScene(canvas.getContext('2d') as unknown as Parameters<typeof drawScene>[0], scene);
  return canvas.encodeSync('png');
}
