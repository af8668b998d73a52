import { describe, expect, it } from 'vitest';
import { ImageProcessor } from './image-processor.js';
import { createImage } from './rgb-image.js';

describe('ImageProcessor', () => {
  it('follows a CLIP-style preprocessor_config.json', () => {
    const proc = ImageProcessor.fromConfig(
      JSON.stringify({
        do_resize: true,
        size: { shortest_edge: 8 },
        resample: 3,
        do_center_crop: true,
        crop_size: { height: 8, width: 8 },
        do_rescale: true,
        rescale_factor: 1 / 255,
        do_normalize: true,
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
      }),
    );
    expect(proc.resample).toBe('bicubic');
    // 20×10 → shortest edge 8 → 16×8 → center crop 8×8; constant 255 → (1 − 0.5)/0.5 = 1.
    const { pixelValues } = proc.call([createImage(20, 10, [255, 0, 255]), createImage(10, 12, [0, 0, 0])]);
    expect(pixelValues.shape).toEqual([2, 3, 8, 8]);
    const v = pixelValues.dataSync();
    expect(v[0]).toBeCloseTo(1, 4);
    expect(v[64]).toBeCloseTo(-1, 4);
    expect(v[3 * 64]).toBeCloseTo(-1, 4);
    pixelValues.dispose();
  });

  it('reads height/width sizes and defaults (ViT style) and rejects incomplete configs', () => {
    const proc = new ImageProcessor({ size: { height: 4, width: 6 }, do_normalize: false });
    const out = proc.preprocess(createImage(3, 3, [51, 51, 51]));
    expect([out.width, out.height]).toEqual([6, 4]);
    expect(out.data[0]).toBeCloseTo(0.2, 5);
    expect(() => new ImageProcessor({ do_resize: true })).toThrow(/size is missing/);
    expect(() => new ImageProcessor({ size: 4, resample: 9 })).toThrow(/resample 9/);
    expect(() => new ImageProcessor({ size: {} })).toThrow(/shortest_edge or height\+width/);
  });
});
