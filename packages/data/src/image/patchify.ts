import { ShapeError, scope, type Tensor } from '@polymodal/tensor';

/**
 * Splits images into non-overlapping `patchSize × patchSize` patches for a Vision Transformer
 * (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words"): [N, C, H, W] →
 * [N, (H/p)·(W/p), C·p·p], patches in row-major order, each flattened as (C, p, p) like a conv
 * patch-embedding kernel. A [C, H, W] input gives [numPatches, C·p·p].
 *
 * ```ts
 * patchify(images, 16).shape; // [N, 196, 768] for 224×224 RGB
 * ```
 */
export function patchify(images: Tensor, patchSize: number): Tensor {
  const single = images.rank === 3;
  if (images.rank !== 4 && !single) {
    throw new ShapeError(
      'patchify',
      `images must be [N, C, H, W] or [C, H, W], got [${images.shape.join(', ')}]`,
    );
  }
  const [n, c, h, w] = single ? [1, ...images.shape] : images.shape;
  if (!Number.isInteger(patchSize) || patchSize < 1 || h! % patchSize !== 0 || w! % patchSize !== 0) {
    throw new ShapeError('patchify', `H×W ${h}×${w} is not divisible by patchSize ${patchSize}`);
  }
  const gh = h! / patchSize;
  const gw = w! / patchSize;
  return scope(() => {
    const out = images
      .reshape([n!, c!, gh, patchSize, gw, patchSize])
      .permute([0, 2, 4, 1, 3, 5])
      .reshape([n!, gh * gw, c! * patchSize * patchSize]);
    return single ? out.reshape([gh * gw, c! * patchSize * patchSize]) : out;
  });
}
