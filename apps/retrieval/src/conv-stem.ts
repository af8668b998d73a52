import { BatchNorm2d, Conv2d, featureMapToSequence, Linear, Module, ReLU, Sequential } from '@polymodal/nn';
import { ArgumentError, type Generator, scope, type Tensor } from '@polymodal/tensor';

/** One 3×3 convolution of the stem: output channels and stride. */
export interface StemLayer {
  channels: number;
  stride: number;
}

/**
 * The image tower's front: 3×3 Conv2d → BatchNorm2d → ReLU per layer, then every output cell with
 * its x and y appended (CoordConv, Liu et al. 2018) projected to `dModel`:
 * `pixelValues [B, 3, S, S] → cells [B, h·w, dModel]`, row-major.
 *
 * BatchNorm is what gets a from-scratch model on these generated scenes to look at the image (the
 * same stem as apps/vqa's, measured there and in this app's PyTorch twin); the coordinates let
 * the layers above say where an object is, which the captions' relations need.
 *
 * ```ts
 * const stem = new ConvStem(48, [{ channels: 32, stride: 2 }, { channels: 64, stride: 2 }], 64, g);
 * stem.grid; // [12, 12]
 * stem.forward(pixels).shape; // [B, 144, 64]
 * ```
 */
export class ConvStem extends Module {
  readonly convs: Sequential;
  readonly project: Linear;
  /** Output grid `[h, w]` for an `imageSize` input. */
  readonly grid: [number, number];

  constructor(imageSize: number, layers: readonly StemLayer[], dModel: number, generator: Generator) {
    super();
    if (layers.length === 0) throw new ArgumentError('ConvStem', 'needs at least one layer');
    const modules: Module[] = [];
    let inChannels = 3;
    let side = imageSize;
    for (const { channels, stride } of layers) {
      if (!Number.isInteger(channels) || channels < 1 || !Number.isInteger(stride) || stride < 1) {
        throw new ArgumentError(
          'ConvStem',
          `a layer needs positive integer channels and stride, got ${channels}:${stride}`,
        );
      }
      // No conv bias: the BatchNorm after it would cancel it.
      modules.push(new Conv2d(inChannels, channels, 3, { stride, padding: 1, bias: false, generator }));
      modules.push(new BatchNorm2d(channels));
      modules.push(new ReLU());
      inChannels = channels;
      side = Math.floor((side + 2 - 3) / stride) + 1;
    }
    this.grid = [side, side];
    this.convs = this.registerModule('convs', new Sequential(...modules));
    this.project = this.registerModule('project', new Linear(inChannels + 2, dModel, { generator }));
  }

  /** `[B, 3, S, S] → [B, h·w, dModel]`. */
  override forward(pixelValues: Tensor): Tensor {
    return scope(() =>
      this.project.forward(featureMapToSequence(this.convs.forward(pixelValues) as Tensor, { coords: true })),
    );
  }
}

/** `"32:2,64:2"` → stem layers (the `--stem` flag's and the twin's `--bn-layers` format). */
export function parseStemLayers(spec: string): StemLayer[] {
  const layers = spec.split(',').map((part) => {
    const m = /^\s*(\d+):(\d+)\s*$/.exec(part);
    if (!m) throw new ArgumentError('parseStemLayers', `'${part}' is not channels:stride (in '${spec}')`);
    return { channels: Number(m[1]), stride: Number(m[2]) };
  });
  if (layers.some((l) => l.channels < 1 || l.stride < 1)) {
    throw new ArgumentError('parseStemLayers', `channels and stride must be ≥ 1 in '${spec}'`);
  }
  return layers;
}
