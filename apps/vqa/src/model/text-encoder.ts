import { TransformerEncoderLayer } from '@polymodal/attention';
import { Embedding, Module, ModuleList, normal_, zeros_ } from '@polymodal/nn';
import { type Generator, scope, type Tensor, zeros } from '@polymodal/tensor';

export interface TextEncoderConfig {
  vocabSize: number;
  padId: number;
  maxLength: number;
  dModel: number;
  numLayers: number;
  numHeads: number;
  dropout: number;
}

/**
 * The question (or caption) side: token embeddings + learned positions, then pre-norm Transformer
 * encoder layers whose residual branches start at zero (the attention output projection and the
 * second feed-forward linear are zero-initialised, as Fixup/ReZero-style "skip init"), so an
 * untrained encoder passes the bag of words through unchanged. Measured in PyTorch on the VQA
 * data: with PyTorch's default init, one such layer halves how fast the model learns to use the
 * question; zero-initialised, it learns as fast as the plain bag of words and can still learn word
 * order. `inputIds [B, L] int32, mask [B, L] bool (true = real token) → [B, L, dModel]`.
 */
export class TextEncoder extends Module {
  readonly tokens: Embedding;
  readonly positions: Tensor;
  readonly layers: ModuleList<TransformerEncoderLayer>;

  constructor(
    readonly config: TextEncoderConfig,
    generator: Generator,
  ) {
    super();
    const d = config.dModel;
    this.tokens = this.registerModule(
      'tokens',
      new Embedding(config.vocabSize, d, { paddingIdx: config.padId, generator }),
    );
    this.positions = this.registerParameter('positions', zeros([config.maxLength, d]))!;
    normal_(this.positions, 0, 0.02, { generator });
    this.layers = this.registerModule(
      'layers',
      new ModuleList<TransformerEncoderLayer>(
        Array.from({ length: config.numLayers }, () => {
          const layer = new TransformerEncoderLayer(d, config.numHeads, {
            dimFeedforward: 2 * d,
            dropout: config.dropout,
            activation: 'gelu',
            normFirst: true,
            generator,
          });
          for (const t of [layer.selfAttn.outProj.weight, layer.linear2.weight]) zeros_(t);
          return layer;
        }),
      ),
    );
  }

  override forward(inputIds: Tensor, mask: Tensor): Tensor {
    const length = inputIds.shape[1]!;
    return scope(() => {
      let x = this.tokens.forward(inputIds).add(this.positions.narrow(0, 0, length));
      const srcKeyPaddingMask = mask.logicalNot(); // torch's convention: true = padding
      for (const layer of this.layers) x = layer.forward(x, { srcKeyPaddingMask });
      return x;
    });
  }
}
