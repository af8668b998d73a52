import { type LayerNorm, Module, ModuleList } from '@polymodal/nn';
import { checkPositiveInt, scope, type Tensor } from '@polymodal/tensor';
import {
  type EncoderForwardOptions,
  TransformerEncoderLayer,
  type TransformerEncoderLayerOptions,
} from './transformer-encoder-layer.js';

/** Builds layer `i` of an encoder, or describes one layer to build `numLayers` times. */
export type EncoderLayerSpec =
  | ((index: number) => TransformerEncoderLayer)
  | ({ dModel: number; nHead: number } & TransformerEncoderLayerOptions);

/**
 * A stack of encoder layers (PyTorch `nn.TransformerEncoder`), parameters named `layers.0.…`,
 * with an optional final norm (`norm.…`, used with pre-norm layers). From a config, layer i gets
 * seed `seed + i` when a seed is given, so layers differ but runs are reproducible.
 *
 * ```ts
 * const encoder = new TransformerEncoder({ dModel: 64, nHead: 4, dimFeedforward: 128, seed: 0 }, 2);
 * encoder.forward(x, { srcKeyPaddingMask: pad }); // [B, L, 64]
 * ```
 */
export class TransformerEncoder extends Module {
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly norm: LayerNorm | null;

  constructor(layer: EncoderLayerSpec, numLayers: number, options: { norm?: LayerNorm | null } = {}) {
    super();
    checkPositiveInt('TransformerEncoder', 'numLayers', numLayers);
    const build =
      typeof layer === 'function'
        ? layer
        : (i: number) => {
            const { dModel, nHead, ...rest } = layer;
            return new TransformerEncoderLayer(dModel, nHead, {
              ...rest,
              ...(rest.seed !== undefined && !rest.generator ? { seed: rest.seed + i } : {}),
            });
          };
    this.layers = this.registerModule(
      'layers',
      new ModuleList(Array.from({ length: numLayers }, (_, i) => build(i))),
    );
    this.norm = options.norm ? this.registerModule('norm', options.norm) : null;
  }

  forward(src: Tensor, options: EncoderForwardOptions & { mask?: Tensor | null } = {}): Tensor {
    const layerOptions: EncoderForwardOptions = {
      srcMask: options.mask ?? options.srcMask ?? null,
      srcKeyPaddingMask: options.srcKeyPaddingMask ?? null,
      isCausal: options.isCausal ?? false,
    };
    return scope(() => {
      let x = src;
      for (const layer of this.layers) x = layer.forward(x, layerOptions);
      return this.norm ? this.norm.forward(x) : x;
    });
  }
}
