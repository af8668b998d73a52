import { describe, expect, it } from 'vitest';
import { createImage, pixelAt, type RgbImage } from './rgb-image.js';
import {
  CLIP_MEAN,
  CLIP_STD,
  centerCrop,
  crop,
  imagesToTensor,
  imageToTensor,
  normalize,
  rescale,
} from './transforms.js';

/** 4×3 image where pixel (x, y) = [x, y, 10·y + x]. */
function grid(w = 4, h = 3): RgbImage {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, y, 10 * y + x], (y * w + x) * 3);
  return { width: w, height: h, data };
}

describe('image transforms', () => {
  it('center crop uses floor((W − w)/2), floor((H − h)/2) like HF', () => {
    // W=4, w=2 → left 1; H=3, h=2 → top 0.
    const c = centerCrop(grid(), 2, 2);
    expect(pixelAt(c, 0, 0)).toEqual([1, 0, 1]);
    expect(pixelAt(c, 1, 1)).toEqual([2, 1, 12]);
    // Larger than the image: zero padding around it.
    const big = centerCrop(grid(), 6, 3);
    expect(pixelAt(big, 0, 0)).toEqual([0, 0, 0]);
    expect(pixelAt(big, 1, 2)).toEqual([0, 2, 20]);
    expect(() => crop(grid(), 0, 0, 0, 1)).toThrow(/crop/);
  });

  it('rescale and normalize per channel', () => {
    const img = createImage(1, 1, [255, 127.5, 0]);
    const n = normalize(rescale(img, 1 / 255), CLIP_MEAN, CLIP_STD);
    expect(n.data[0]).toBeCloseTo((1 - 0.48145466) / 0.26862954, 5);
    expect(n.data[1]).toBeCloseTo((0.5 - 0.4578275) / 0.26130258, 5);
    expect(n.data[2]).toBeCloseTo(-0.40821073 / 0.27577711, 5);
    expect(() => normalize(img, [0, 0, 0], [1, 0, 1])).toThrow(/std must be positive/);
  });

  it('converts HWC to CHW tensors [3,H,W] and batches [N,3,H,W]', () => {
    const t = imageToTensor(grid());
    expect(t.shape).toEqual([3, 3, 4]);
    const arr = t.arraySync() as number[][][];
    expect(arr[0]![2]![3]).toBe(3); // red = x
    expect(arr[1]![2]![3]).toBe(2); // green = y
    expect(arr[2]![2]![3]).toBe(23);
    const b = imagesToTensor([grid(), grid()]);
    expect(b.shape).toEqual([2, 3, 3, 4]);
    expect(() => imagesToTensor([grid(), grid(2, 2)])).toThrow(/images\[1\] is 2×2/);
    t.dispose();
    b.dispose();
  });
});
