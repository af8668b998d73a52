import { describe, expect, it } from 'vitest';
import { resize, resizeShortestEdge, shortestEdgeSize } from './resize.js';
import { pixelAt, type RgbImage } from './rgb-image.js';

/** A 1-row image whose three channels all hold `values`. */
const row = (values: number[]): RgbImage => ({
  width: values.length,
  height: 1,
  data: Float32Array.from(values.flatMap((v) => [v, v, v])),
});
const reds = (img: RgbImage) => Array.from({ length: img.width }, (_, x) => pixelAt(img, x, 0)[0]);

describe('resize (PIL convolution resampling on floats)', () => {
  it('bilinear 4 → 2 uses the widened (antialiased) triangle filter', () => {
    // PIL: scale 2, support 1·2 = 2. Output 0: center 1, taps x=0..2 with f((x−1+0.5)/2) =
    // 0.75, 0.75, 0.25 → normalised /1.75 → (0·3 + 10·3 + 20)/7 = 50/7.
    // Output 1: center 3, taps x=1..3: 0.25, 0.75, 0.75 → (2.5 + 15 + 22.5)/1.75 = 160/7.
    const out = resize(row([0, 10, 20, 30]), 2, 1, 'bilinear');
    expect(reds(out)[0]).toBeCloseTo(50 / 7, 4);
    expect(reds(out)[1]).toBeCloseTo(160 / 7, 4);
  });

  it('bilinear 2 → 4 equals align_corners=False interpolation', () => {
    // centers 0.25, 0.75, 1.25, 1.75 → edge-clamped weights → 0, 25, 75, 100.
    expect(reds(resize(row([0, 100]), 4, 1, 'bilinear'))).toEqual([0, 25, 75, 100]);
  });

  it('bicubic (a = −0.5) 2 → 4', () => {
    // Output 1: center 0.75, taps x=0,1 at distances 0.25, 0.75 (x=2.. outside):
    // f(0.25) = (1.5·0.25 − 2.5)·0.0625 + 1 = 0.8671875, f(0.75) = (1.5·0.75 − 2.5)·0.5625 + 1 = 0.2265625
    // → 100 · 0.2265625 / 1.09375 = 20.714285…
    const out = reds(resize(row([0, 100]), 4, 1, 'bicubic'));
    expect(out[1]).toBeCloseTo(22.65625 / 1.09375, 4);
    expect(out[2]).toBeCloseTo(100 - 22.65625 / 1.09375, 4);
  });

  it('keeps constant images constant and identity sizes unchanged', () => {
    const img: RgbImage = { width: 5, height: 3, data: new Float32Array(45).fill(77) };
    for (const r of ['bilinear', 'bicubic', 'hamming', 'lanczos', 'box', 'nearest'] as const) {
      const out = resize(img, 7, 2, r);
      for (const v of out.data) expect(v).toBeCloseTo(77, 3);
    }
    const ramp = row([3, 1, 4, 1, 5]);
    expect(reds(resize(ramp, 5, 1, 'bicubic')).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([
      3, 1, 4, 1, 5,
    ]);
  });

  it('nearest picks floor((x + 0.5)·scale)', () => {
    expect(reds(resize(row([0, 1, 2, 3]), 2, 1, 'nearest'))).toEqual([1, 3]);
  });

  it('shortest edge follows HF int(size·long/short)', () => {
    expect(shortestEdgeSize(640, 480, 224)).toEqual({ width: 298, height: 224 });
    expect(shortestEdgeSize(30, 50, 20)).toEqual({ width: 20, height: 33 });
    const out = resizeShortestEdge({ width: 6, height: 4, data: new Float32Array(72) }, 2);
    expect([out.width, out.height]).toEqual([3, 2]);
  });

  it('resamples bytes as PIL only when given bytes', () => {
    // PIL 8-bit (np.array(Image.fromarray(…).resize((4, 1), 3)) gives [0, 21, 79, 109]): the float
    // values 20.71 and 108.82 (edge overshoot) rounded. The fixtures check every filter on images.
    expect(reds(resize(row([0, 100]), 4, 1, 'bicubic', { uint8: true }))).toEqual([0, 21, 79, 109]);
    expect(() => resize(row([0, 100.5]), 4, 1, 'bicubic', { uint8: true })).toThrow(/integer pixels/);
    expect(() => resize(row([0, 300]), 4, 1, 'bicubic', { uint8: true })).toThrow(/got 300 at x=1, y=0/);
  });

  it('rejects bad sizes', () => {
    expect(() => resize(row([1, 2]), 0, 1)).toThrow(/resize/);
    expect(() => resize({ width: 2, height: 2, data: new Float32Array(3) }, 1, 1)).toThrow(/expected 2×2×3/);
  });
});
