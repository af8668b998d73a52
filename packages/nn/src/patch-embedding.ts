import {
  ArgumentError,
  checkPositiveInt,
  formatShape,
  type RandomOptions,
  ShapeError,
  scope,
  type Tensor,
} from '@polymodal/tensor';
import { Conv2d } from './conv2d.js';
import { Module } from './module.js';

export interface PatchEmbeddingOptions extends RandomOptions {
  /** Input channels. Default 3. */
  inChannels?: number;
}

/**
 * ViT patch embedding (Dosovitskiy et al. 2021): cuts `[N, C, H, W]` images into `patch × patch`
 * tiles and projects each linearly to `embedDim`, as one conv with kernel = stride = patch, giving
 * `[N, numPatches, embedDim]` in row-major patch order. The conv is `proj` (timm's name).
 *
 * ```ts
 * const patches = new PatchEmbedding(224, 16, 768, { seed: 0 });
 * patches.forward(randn([2, 3, 224, 224])); // [2, 196, 768]
 * ```
 */
export class PatchEmbedding extends Module {
  readonly imageSize: [number, number];
  readonly patchSize: number;
  readonly gridSize: [number, number];
  readonly numPatches: number;
  readonly proj: Conv2d;

  constructor(
    imageSize: number | readonly [number, number],
    patchSize: number,
    embedDim: number,
    options: PatchEmbeddingOptions = {},
  ) {
    super();
    if (typeof imageSize !== 'number' && !(Array.isArray(imageSize) && imageSize.length === 2))
      throw new ArgumentError(
        'PatchEmbedding',
        `imageSize must be a number or [height, width], got ${JSON.stringify(imageSize)}`,
      );
    const [h, w] = typeof imageSize === 'number' ? [imageSize, imageSize] : imageSize;
    checkPositiveInt('PatchEmbedding', 'imageSize', h);
    checkPositiveInt('PatchEmbedding', 'imageSize', w);
    checkPositiveInt('PatchEmbedding', 'patchSize', patchSize);
    if (h % patchSize !== 0 || w % patchSize !== 0) {
      throw new ShapeError(
        'PatchEmbedding',
        `image size ${h}×${w} is not divisible by patch size ${patchSize}`,
      );
    }
    this.imageSize = [h, w];
    this.patchSize = patchSize;
    this.gridSize = [h / patchSize, w / patchSize];
    this.numPatches = this.gridSize[0] * this.gridSize[1];
    this.proj = this.registerModule(
      'proj',
      new Conv2d(options.inChannels ?? 3, embedDim, patchSize, { ...options, stride: patchSize }),
    );
  }

  forward(x: Tensor): Tensor {
    const [h, w] = this.imageSize;
    if (x.rank !== 4 || x.shape[1] !== this.proj.inChannels || x.shape[2] !== h || x.shape[3] !== w) {
      throw new ShapeError(
        'PatchEmbedding',
        `input must be [N, ${this.proj.inChannels}, ${h}, ${w}], got ${formatShape(x.shape)}`,
      );
    }
    return scope(() => this.proj.forward(x).flatten(2).transpose(1, 2));
  }
}
