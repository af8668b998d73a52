import { Generator } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import {
  colorJitter,
  horizontalFlip,
  randomHorizontalFlip,
  randomResizedCrop,
  sampleResizedCropBox,
  swapLeftRight,
} from './augment.js';
import { createImage, pixelAt, type RgbImage } from './rgb-image.js';

const ramp = (): RgbImage => {
  const data = new Float32Array(4 * 2 * 3);
  for (let p = 0; p < 8; p++) data.set([p % 4, 0, 0], p * 3);
  return { width: 4, height: 2, data };
};

describe('augmentations', () => {
  it('random resized crop is seeded, inside the image, and within the area/ratio ranges', () => {
    for (let seed = 0; seed < 20; seed++) {
      const a = sampleResizedCropBox(64, 48, new Generator(seed), [0.25, 1]);
      const b = sampleResizedCropBox(64, 48, new Generator(seed), [0.25, 1]);
      expect(a).toEqual(b);
      expect(a.left + a.width).toBeLessThanOrEqual(64);
      expect(a.top + a.height).toBeLessThanOrEqual(48);
      expect((a.width * a.height) / (64 * 48)).toBeGreaterThan(0.2);
      expect(a.width / a.height).toBeLessThanOrEqual((4 / 3) * 1.1);
    }
    // Impossible scale (area > image) → torchvision's fallback: centered crop of the whole image.
    expect(sampleResizedCropBox(40, 40, new Generator(0), [2, 3])).toEqual({
      left: 0,
      top: 0,
      width: 40,
      height: 40,
    });
    const out = randomResizedCrop(createImage(40, 30, [9, 9, 9]), { size: 16, generator: new Generator(3) });
    expect([out.width, out.height]).toEqual([16, 16]);
    expect(out.data[0]).toBeCloseTo(9, 4);
  });

  it('colour jitter: brightness scales, saturation keeps luma, seeded', () => {
    const img = createImage(2, 2, [200, 100, 0]);
    const a = colorJitter(img, { brightness: 0.5, generator: new Generator(7) });
    const b = colorJitter(img, { brightness: 0.5, generator: new Generator(7) });
    expect(a.data).toEqual(b.data);
    const factor = a.data[1]! / 100;
    expect(factor).toBeGreaterThanOrEqual(0.5);
    expect(factor).toBeLessThanOrEqual(1.5);
    expect(a.data[2]).toBe(0);
    // Saturation blends towards the pixel's luma, so (without clamping) luma is unchanged and the
    // channel spread scales by the drawn factor ∈ [0.8, 1.2].
    const mid = createImage(1, 1, [150, 100, 80]);
    const s = colorJitter(mid, { saturation: 0.2, generator: new Generator(1) });
    const luma = (p: number[]) => 0.299 * p[0]! + 0.587 * p[1]! + 0.114 * p[2]!;
    const px = pixelAt(s, 0, 0);
    expect(luma(px)).toBeCloseTo(luma([150, 100, 80]), 3);
    const spread = (px[0] - px[2]) / 70;
    expect(spread).toBeGreaterThanOrEqual(0.8);
    expect(spread).toBeLessThanOrEqual(1.2);
    expect(spread).not.toBeCloseTo(1, 3);
  });

  it('horizontal flip mirrors columns and rewrites left/right in the texts', () => {
    expect(pixelAt(horizontalFlip(ramp()), 0, 1)[0]).toBe(3);
    expect(swapLeftRight('Is the Left cube leftmost, right of the RIGHT ball? left')).toBe(
      'Is the Right cube rightmost, left of the LEFT ball? right',
    );
    const g = new Generator(0);
    let flips = 0;
    for (let i = 0; i < 50; i++) {
      const r = randomHorizontalFlip(ramp(), ['what is left of the cube?', 'right'], {
        generator: g,
        rewriteText: swapLeftRight,
      });
      if (r.flipped) {
        flips++;
        expect(r.texts).toEqual(['what is right of the cube?', 'left']);
        expect(pixelAt(r.image, 0, 0)[0]).toBe(3);
      } else {
        expect(r.texts).toEqual(['what is left of the cube?', 'right']);
      }
    }
    expect(flips).toBeGreaterThan(10);
    expect(flips).toBeLessThan(40);
    expect(() =>
      randomHorizontalFlip(ramp(), [], {
        generator: g,
        rewriteText: undefined as unknown as (t: string) => string,
      }),
    ).toThrow(/rewriteText is required/);
  });
});
