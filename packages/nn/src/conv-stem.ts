import {
  ArgumentError,
  assertShape,
  cat,
  checkPositiveInt,
  generatorFrom,
  type RandomOptions,
  scope,
  type Tensor,
} from '@polymodal/tensor';
import { ReLU } from './activations.js';
import { BatchNorm2d } from './batch-norm.js';
import { Sequential } from './containers.js';
import { Conv2d } from './conv2d.js';
import { coordinateGrid, featureMapToSequence } from './coord-channels.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/** One 3×3 convolution of a `ConvStem`: its output channels and stride. */
export interface ConvStemLayer {
  channels: number;
  stride: number;
}

export interface ConvStemOptions extends RandomOptions {
  /** The 3×3 convolutions, first to last (at least one). */
  layers: readonly ConvStemLayer[];
  /** Width of each output cell (the projection's output features). */
  outputDim: number;
  /** Append each cell's x and y before the projection (CoordConv). Default true. */
  coordinates?: boolean;
  /** Channels of the input image. Default 3. */
  inChannels?: number;
  /**
   * Compute `forward` channels-last: one transpose of the input, then every convolution, BatchNorm
   * and ReLU on `[B, H, W, C]` (`Conv2d.forwardNhwc`, `BatchNorm.forwardChannelsLast`), whose cells
   * are already the output's rows. The same function as channels-first (only the order of the
   * sums differs); faster where the backend has channels-last im2col kernels (wasm). Default true.
   */
  channelsLast?: boolean;
}

/**
 * A small convolutional image encoder that gives attention or fusion a sequence of cells: per layer
 * a 3×3 Conv2d (padding 1, no bias) → BatchNorm2d → ReLU, then every cell of the last feature map,
 * with its x and y appended (CoordConv, Liu et al. 2018; x then y in [−1, 1], as
 * `featureMapToSequence({ coords: true })`), projected by a Linear to `outputDim`:
 * `pixelValues [B, C, H, W] → cells [B, h·w, outputDim]`, row-major. `grid` is `[h, w]` for
 * `imageSize`; each layer maps a side `s` to `⌊(s − 1) / stride⌋ + 1`.
 *
 * BatchNorm is what gets a from-scratch model on small generated scenes to look at the image at all
 * (apps/vqa measured it here and in PyTorch: without it the model answers from the question alone).
 * State-dict keys: `convs.{3i}.weight` (the convolutions), `convs.{3i+1}.*` (the BatchNorms, with
 * PyTorch's buffer names), `project.weight`, `project.bias`.
 *
 * ```ts
 * const stem = new ConvStem(48, { layers: [{ channels: 32, stride: 2 }, { channels: 64, stride: 2 }], outputDim: 64 });
 * stem.grid;                    // [12, 12]
 * stem.featureMap(pixels).shape; // [B, 64, 12, 12]
 * stem.forward(pixels).shape;    // [B, 144, 64]
 * ```
 */
export class ConvStem extends Module {
  readonly convs: Sequential;
  readonly project: Linear;
  /** Output grid `[h, w]` for an `imageSize` input. */
  readonly grid: [number, number];
  /** Channels of the feature map (the last layer's). */
  readonly channels: number;
  readonly inChannels: number;
  readonly coordinates: boolean;
  readonly channelsLast: boolean;

  constructor(imageSize: number | readonly [number, number], options: ConvStemOptions) {
    super();
    const [height, width] = typeof imageSize === 'number' ? [imageSize, imageSize] : imageSize;
    checkPositiveInt('ConvStem', 'imageSize', height);
    checkPositiveInt('ConvStem', 'imageSize', width);
    const { layers } = options;
    if (!Array.isArray(layers) || layers.length === 0) {
      throw new ArgumentError(
        'ConvStem',
        `layers must name at least one {channels, stride}, got ${JSON.stringify(layers)}`,
      );
    }
    layers.forEach((layer: ConvStemLayer, i) => {
      checkPositiveInt('ConvStem', `layers[${i}].channels`, layer?.channels);
      checkPositiveInt('ConvStem', `layers[${i}].stride`, layer?.stride);
    });
    checkPositiveInt('ConvStem', 'outputDim', options.outputDim);
    this.inChannels = checkPositiveInt('ConvStem', 'inChannels', options.inChannels ?? 3);
    this.coordinates = options.coordinates ?? true;
    this.channelsLast = options.channelsLast ?? true;
    const generator = generatorFrom(options);
    const modules: Module[] = [];
    let channels = this.inChannels;
    let [h, w] = [height, width];
    for (const { channels: out, stride } of layers) {
      // No conv bias: the BatchNorm after it would cancel it.
      modules.push(new Conv2d(channels, out, 3, { stride, padding: 1, bias: false, generator }));
      modules.push(new BatchNorm2d(out));
      modules.push(new ReLU());
      channels = out;
      h = Math.floor((h - 1) / stride) + 1;
      w = Math.floor((w - 1) / stride) + 1;
    }
    this.channels = channels;
    this.grid = [h, w];
    this.convs = this.registerModule('convs', new Sequential(...modules));
    const features = channels + (this.coordinates ? 2 : 0);
    this.project = this.registerModule('project', new Linear(features, options.outputDim, { generator }));
  }

  /** The feature map `[B, C, H, W] → [B, channels, h, w]` before the projection (for pooled embeddings). */
  featureMap(pixelValues: Tensor): Tensor {
    this.checkPixels(pixelValues);
    return this.convs.forward(pixelValues);
  }

  private checkPixels(pixelValues: Tensor): void {
    const c = this.inChannels;
    assertShape(
      'ConvStem',
      'pixelValues',
      pixelValues,
      [null, c, null, null],
      `[batch, ${c}, height, width]`,
    );
  }

  /** `[B, C, H, W] → [B, h·w, outputDim]`. */
  override forward(pixelValues: Tensor): Tensor {
    if (!this.channelsLast) {
      return scope(() =>
        this.project.forward(
          featureMapToSequence(this.featureMap(pixelValues), { coords: this.coordinates }),
        ),
      );
    }
    this.checkPixels(pixelValues);
    return scope(() => {
      let x = pixelValues.permute(0, 2, 3, 1);
      const layers = this.convs.children();
      for (let i = 0; i < layers.length; i += 3) {
        const conv = layers[i] as Conv2d;
        const norm = layers[i + 1] as BatchNorm2d;
        x = norm.forwardChannelsLast(conv.forwardNhwc(x)).relu();
      }
      const [b, h, w, channels] = x.shape as [number, number, number, number];
      let cells = x.reshape(b, h * w, channels);
      if (this.coordinates) {
        // Each cell's x and y, as featureMapToSequence appends them: [h·w, 2], the same for every image.
        const grid = coordinateGrid(h, w)
          .reshape(2, h * w)
          .transpose(0, 1);
        cells = cat([cells, grid.unsqueeze(0).expand(b, h * w, 2)], 2);
      }
      return this.project.forward(cells);
    });
  }

  protected override extraRepr(): string {
    return `grid=[${this.grid.join(', ')}], coordinates=${this.coordinates}`;
  }
}
