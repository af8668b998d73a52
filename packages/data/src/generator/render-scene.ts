import { type DrawContext, drawScene } from './draw-scene.js';
import type { Scene } from './scene.js';

type CanvasModule = typeof import('@napi-rs/canvas');
let canvasModule: Promise<CanvasModule> | null = null;

async function drawnCanvas(scene: Scene) {
  canvasModule ??= import('@napi-rs/canvas');
  const { createCanvas } = await canvasModule;
  const canvas = createCanvas(scene.width, scene.height);
  const ctx = canvas.getContext('2d');
  drawScene(ctx as unknown as DrawContext, scene);
  return { canvas, ctx };
}

/**
 * Renders a scene to PNG bytes in Node with @napi-rs/canvas (loaded on first use). The pixels are
 * the same as the browser renderer's and `rasterizeScene`'s (see `drawScene`).
 *
 * ```ts
 * await writeFile('scene.png', await renderScenePng(scene));
 * ```
 */
export async function renderScenePng(scene: Scene): Promise<Buffer> {
  const { canvas } = await drawnCanvas(scene);
  return canvas.encodeSync('png');
}

/**
 * Renders a scene with @napi-rs/canvas and returns the canvas's RGBA bytes (`width·height·4`).
 *
 * ```ts
 * const rgba = await renderSceneRgba(scene); // equals rasterizeScene(scene)
 * ```
 */
export async function renderSceneRgba(scene: Scene): Promise<Uint8ClampedArray> {
  const { ctx } = await drawnCanvas(scene);
  return ctx.getImageData(0, 0, scene.width, scene.height).data;
}
