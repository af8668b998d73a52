import { COLORS, type Scene, type SceneObject } from './scene.js';

/**
 * The 2D-context subset the scene renderer uses: opaque `fillRect`s on whole pixels (satisfied by
 * @napi-rs/canvas and OffscreenCanvas).
 */
export interface DrawContext {
  fillStyle: string | CanvasGradient | CanvasPattern;
  fillRect(x: number, y: number, w: number, h: number): void;
}

/** A horizontal run of `width` pixels starting at column `x` of row `y` (all integers). */
export interface PixelSpan {
  x: number;
  y: number;
  width: number;
}

/**
 * Whether the pixel whose centre is (`px` + ½, `py` + ½) lies in the closed shape, computed on
 * doubled coordinates so that with the integer centres and radii `sampleScene` draws, every
 * quantity is a small integer: the test is exact, and the same in every JavaScript engine.
 */
function covers(o: SceneObject, px: number, py: number): boolean {
  const dx = 2 * px + 1 - 2 * o.x;
  const dy = 2 * py + 1 - 2 * o.y;
  const r = 2 * o.radius;
  if (o.shape === 'circle') return dx * dx + dy * dy <= r * r;
  if (o.shape === 'square') return Math.abs(dx) <= r && Math.abs(dy) <= r;
  // Triangle with apex (x, y − radius) and base corners (x ± radius, y + radius).
  return dy <= r && 2 * Math.abs(dx) <= dy + r;
}

/**
 * The pixels one object covers, as one span per row, clipped to a `width × height` image. A pixel
 * belongs to the shape when its centre does (no anti-aliasing). Pure arithmetic (+, −, ×,
 * comparisons): the same spans in Node and in every browser.
 *
 * ```ts
 * shapeSpans({ shape: 'square', color: 'red', size: 'small', x: 10, y: 10, radius: 2 }, 64, 64);
 * // [{ x: 8, y: 8, width: 4 }, … 4 rows]
 * ```
 */
export function shapeSpans(o: SceneObject, width: number, height: number): PixelSpan[] {
  const spans: PixelSpan[] = [];
  const y0 = Math.max(0, Math.floor(o.y - o.radius) - 1);
  const y1 = Math.min(height - 1, Math.ceil(o.y + o.radius) + 1);
  const x0 = Math.max(0, Math.floor(o.x - o.radius) - 1);
  const x1 = Math.min(width - 1, Math.ceil(o.x + o.radius) + 1);
  for (let py = y0; py <= y1; py++) {
    // Every shape is convex: its pixels in a row form one run.
    let start = -1;
    let end = -1;
    for (let px = x0; px <= x1; px++) {
      if (covers(o, px, py)) {
        if (start < 0) start = px;
        end = px;
      }
    }
    if (start >= 0) spans.push({ x: start, y: py, width: end - start + 1 });
  }
  return spans;
}

/**
 * Draws a scene as opaque, pixel-aligned rectangles: a white background, then each object (in
 * order, later over earlier) as the row spans of `shapeSpans` in its palette colour.
 *
 * Canvas paths (`arc`, `lineTo` + `fill`) anti-alias their edges, and Skia in @napi-rs/canvas and
 * Chromium's OffscreenCanvas shade those edge pixels differently (measured: 2–4 % of the pixels of
 * a 64–100 px scene, by up to 65 of 255). An opaque `fillRect` whose corners are whole pixels has
 * no partially covered pixel, so every canvas paints exactly the same bytes; the coverage itself
 * is decided here, in shared TypeScript. Shapes keep hard edges and every object pixel is exactly
 * its palette colour, which also keeps colour questions unambiguous.
 *
 * ```ts
 * const canvas = createCanvas(scene.width, scene.height); // or new OffscreenCanvas(w, h)
 * drawScene(canvas.getContext('2d'), scene);
 * ```
 */
export function drawScene(ctx: DrawContext, scene: Scene): void {
  ctx.fillStyle = 'rgb(255,255,255)';
  ctx.fillRect(0, 0, scene.width, scene.height);
  for (const o of scene.objects) {
    const [r, g, b] = COLORS[o.color];
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    for (const s of shapeSpans(o, scene.width, scene.height)) ctx.fillRect(s.x, s.y, s.width, 1);
  }
}

/**
 * The scene's RGBA pixels (`width·height·4` bytes, opaque) computed without any canvas: the
 * reference both canvas renderers are tested against, and a fast way to get pixels in memory.
 *
 * ```ts
 * const rgba = rasterizeScene(sampleScene(new Generator(1), { size: 64 })); // Uint8ClampedArray(16384)
 * ```
 */
export function rasterizeScene(scene: Scene): Uint8ClampedArray {
  const { width, height } = scene;
  const rgba = new Uint8ClampedArray(width * height * 4).fill(255);
  for (const o of scene.objects) {
    const [r, g, b] = COLORS[o.color];
    for (const s of shapeSpans(o, width, height)) {
      for (let i = (s.y * width + s.x) * 4, end = i + s.width * 4; i < end; i += 4) {
        rgba[i] = r;
        rgba[i + 1] = g;
        rgba[i + 2] = b;
      }
    }
  }
  return rgba;
}
