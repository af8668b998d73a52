import { BatchNorm2d, Conv2d, featureMapToSequence, Linear, Module, ReLU, Sequential } from '@polymodal/nn';
import { ArgumentError, type Generator, scope, type Tensor } from '@polymodal/tensor';

/** One 3×3 convolution of the stem: output channels and stride. */
export interface StemLayer {
  channels: number;
  stride: number;
}

/**
 * The image side of the VQA model: a small convolutional stem (3×3 Conv2d → BatchNorm2d → ReLU per
 * layer, the first at stride 1 so that shapes a few pixels wide survive) whose output cells, each
 * with its x and y appended (CoordConv, Liu et al. 2018), are projected to `dModel`:
 * `pixelValues [B, 3, S, S] → cells [B, h·w, dModel]`, row-major.
 *
 * BatchNorm is what takes a from-scratch model off the blind baseline on Sort-of-CLEVR (measured in
 * PyTorch and here: without it the same model answers from the question alone).
 */
export class ConvStem extends Module {
  readonly convs: Sequential;
  readonly project: Linear;
  /** Output grid `[h, w]` for an `imageSize` input. */
  readonly grid: [number, number];
  readonly channels: number;

  constructor(imageSize: number, layers: readonly StemLayer[], dModel: number, generator: Generator) {
    super();
    if (layers.length === 0) throw new ArgumentError('ConvStem', 'needs at least one layer');
    const modules: Module[] = [];
    let inChannels = 3;
    let side = imageSize;
    for (const { channels, stride } of layers) {
      // No conv bias: the BatchNorm after it would cancel it.
      modules.push(new Conv2d(inChannels, channels, 3, { stride, padding: 1, bias: false, generator }));
      modules.push(new BatchNorm2d(channels));
      modules.push(new ReLU());
      inChannels = channels;
      side = Math.floor((side + 2 - 3) / stride) + 1;
    }
    this.channels = inChannels;
    this.grid = [side, side];
    this.convs = this.registerModule('convs', new Sequential(...modules));
    this.project = this.registerModule('project', new Linear(inChannels + 2, dModel, { generator }));
  }

  /** The feature map `[B, C, h, w]` before the projection (for pooled image embeddings). */
  featureMap(pixelValues: Tensor): Tensor {
    return this.convs.forward(pixelValues);
  }

  /** `[B, 3, S, S] → [B, h·w, dModel]`. */
  override forward(pixelValues: Tensor): Tensor {
    return scope(() =>
      this.project.forward(featureMapToSequence(this.featureMap(pixelValues), { coords: true })),
    );
  }
}
