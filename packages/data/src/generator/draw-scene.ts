import { COLORS, type Scene } from './scene.js';

/** The 2D-context subset the scene renderer uses (satisfied by @napi-rs/canvas and OffscreenCanvas). */
export interface DrawContext {
  fillStyle: string | CanvasGradient | CanvasPattern;
  fillRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  arc(x: number, y: number, r: number, start: number, end: number): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  closePath(): void;
  fill(): void;
}

/**
 * Draws a scene with plain canvas commands so the Node (@napi-rs/canvas) and browser
 * (OffscreenCanvas) renderers share them: white background, filled shapes.
 */
export function drawScene(ctx: DrawContext, scene: Scene): void {
  ctx.fillStyle = 'rgb(255,255,255)';
  ctx.fillRect(0, 0, scene.width, scene.height);
  for (const o of scene.objects) {
    const [r, g, b] = COLORS[o.color];
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.beginPath();
    if (o.shape === 'circle') {
      ctx.arc(o.x, o.y, o.radius, 0, Math.PI * 2);
    } else if (o.shape === 'square') {
      ctx.moveTo(o.x - o.radius, o.y - o.radius);
      ctx.lineTo(o.x + o.radius, o.y - o.radius);
      ctx.lineTo(o.x + o.radius, o.y + o.radius);
      ctx.lineTo(o.x - o.radius, o.y + o.radius);
    } else {
      ctx.moveTo(o.x, o.y - o.radius);
      ctx.lineTo(o.x + o.radius, o.y + o.radius);
      ctx.lineTo(o.x - o.radius, o.y + o.radius);
    }
    ctx.closePath();
    ctx.fill();
  }
}
