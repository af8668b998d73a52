import { TransformerEncoderLayer } from '@polymodal/attention';
import { maskedMean } from '@polymodal/fusion';
import { Embedding, GRU, Linear, Module, ModuleList, normal_, zeros_ } from '@polymodal/nn';
import { arange, cat, type Generator, scope, type Tensor, zeros } from '@polymodal/tensor';

/**
 * `'transformer'`: learned positions + Transformer layers, pooled by the mean of the real tokens.
 * `'gru'`: a GRU over the token embeddings, pooled by its state after the last real token — it
 * reads in order, so "is the red object left of the blue object" and its swap differ (a mean of
 * embeddings plus additive positions is the same for both).
 */
export type TextEncoderKind = 'transformer' | 'gru';

/**
 * How the Transformer's token states become one vector. `'mean'`: the mean of the real tokens.
 * `'flatten'`: the states padded to `maxLength` and concatenated, then one Linear — each position
 * has its own weights, so word order counts from the first step (the questions of Sort-of-CLEVR
 * are templates, as the paper's one-hot question codes are). In the PyTorch twin at 5,000 steps,
 * relative_position ("is the red object above the blue one?") went from chance (mean) to 88–96 %
 * in four runs, but count_shape then stayed near its prior: no better overall, so the app's
 * default stays `'mean'` and reads word order with `orderVector` beside it instead
 * (apps/vqa/README.md). `'flatten-ends'`: the same slots counted from the start and, again, from
 * the end of the question, so a word keeps its slot when the words before it change ("… the red
 * object?" ends most templates).
 */
export type TextPooling = 'mean' | 'flatten' | 'flatten-ends';

export interface TextEncoderConfig {
  vocabSize: number;
  padId: number;
  maxLength: number;
  dModel: number;
  numLayers: number;
  numHeads: number;
  dropout: number;
  /** Default `'transformer'` (bundles written before the option existed). */
  kind?: TextEncoderKind;
  /** The Transformer's pooling; default `'mean'` (bundles written before the option existed). */
  pooling?: TextPooling;
  /**
   * Also a second, word-order vector (`EncodedText.ordered`): the token states in slots counted
   * from both ends (`'flatten-ends'`'s slots) through a Linear of its own. Default false.
   */
  orderVector?: boolean;
}

/** The encoded text: every token `[B, L, d]` and one vector per text `[B, d]`. */
export interface EncodedText {
  sequence: Tensor;
  pooled: Tensor;
  /** `[B, d]` the word-order vector with `orderVector: true`, else null. */
  ordered: Tensor | null;
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
  /** Learned positions (`kind: 'transformer'` only; a GRU knows the order by reading it). */
  readonly positions: Tensor | null = null;
  readonly layers: ModuleList<TransformerEncoderLayer>;
  /** The recurrent reader of `kind: 'gru'`, else null. */
  readonly gru: GRU | null = null;
  /** `pooling: 'flatten'`: `[maxLength · d] → d` over the padded token states (twice that input for `'flatten-ends'`), else null. */
  readonly merge: Linear | null = null;
  /** `orderVector: true`: `[2 · maxLength · d] → d` over the slots counted from both ends, else null. */
  readonly order: Linear | null = null;

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
    const gru = config.kind === 'gru';
    if (gru) {
      this.gru = this.registerModule('gru', new GRU(d, d, { generator }));
    } else {
      this.positions = this.registerParameter('positions', zeros([config.maxLength, d]))!;
      normal_(this.positions, 0, 0.02, { generator });
      const slots = config.pooling === 'flatten' ? 1 : config.pooling === 'flatten-ends' ? 2 : 0;
      if (slots)
        this.merge = this.registerModule('merge', new Linear(slots * config.maxLength * d, d, { generator }));
      if (config.orderVector)
        this.order = this.registerModule('order', new Linear(2 * config.maxLength * d, d, { generator }));
    }
    this.layers = this.registerModule(
      'layers',
      new ModuleList<TransformerEncoderLayer>(
        Array.from({ length: gru ? 0 : config.numLayers }, () => {
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

  /** `[B, L, d]` token states (the GRU's outputs for `kind: 'gru'`). */
  override forward(inputIds: Tensor, mask: Tensor): Tensor {
    return this.encode(inputIds, mask).sequence;
  }

  /** Token states and one vector per text (see `TextEncoderKind`). */
  encode(inputIds: Tensor, mask: Tensor): EncodedText {
    return scope(() => {
      if (this.gru) {
        const { output, hidden } = this.gru.forward(this.tokens.forward(inputIds), { mask });
        return { sequence: output, pooled: hidden.squeeze(0), ordered: null };
      }
      const sequence = this.transformer(inputIds, mask);
      const pooled = this.merge ? this.flatten(sequence, mask) : maskedMean(sequence, mask);
      if (!this.order) return { sequence, pooled, ordered: null };
      const slots = this.slots(sequence, mask, true);
      return { sequence, pooled, ordered: this.order.forward(slots.reshape([slots.shape[0]!, -1])) };
    });
  }

  /**
   * `[B, slots · maxLength, d]`: the real tokens' states at their positions with zeros after them,
   * and with `fromBothEnds` (`'flatten-ends'`, the order vector) again with the last real token at
   * slot `maxLength − 1` (zeros before the first). Tokens are right-padded, so a row's real tokens
   * are its first `mask.sum()`.
   */
  slots(sequence: Tensor, mask: Tensor, fromBothEnds = this.config.pooling === 'flatten-ends'): Tensor {
    const [batch, length, d] = sequence.shape as [number, number, number];
    const max = this.config.maxLength;
    return scope(() => {
      const fromStart = sequence.mul(mask.float().unsqueeze(-1)).pad([0, 0, 0, max - length]);
      if (!fromBothEnds) return fromStart;
      // Slot j of the end-aligned copy holds token j − (max − n) of a row with n real tokens (zero
      // before the first): an index built on the backend, so the mask is not read back per step.
      const n = mask.float().sum(1, true); // [B, 1]
      const source = arange(0, max, 1, { dtype: 'float32' }).unsqueeze(0).add(n).sub(max); // [B, max]
      const keep = source.ge(0).float().unsqueeze(-1); // [B, max, 1]
      const rowStart = arange(0, batch * max, max, { dtype: 'float32' }).unsqueeze(1); // [B, 1]
      const rows = source
        .clamp(0)
        .add(rowStart)
        .int()
        .reshape([batch * max]);
      const fromEnd = fromStart
        .reshape([batch * max, d])
        .indexSelect(0, rows)
        .reshape([batch, max, d])
        .mul(keep);
      return cat([fromStart, fromEnd], 1);
    });
  }

  /** The slots, flattened, through one Linear. */
  private flatten(sequence: Tensor, mask: Tensor): Tensor {
    const slots = this.slots(sequence, mask);
    return this.merge!.forward(slots.reshape([slots.shape[0]!, -1]));
  }

  private transformer(inputIds: Tensor, mask: Tensor): Tensor {
    const length = inputIds.shape[1]!;
    return scope(() => {
      let x = this.tokens.forward(inputIds).add(this.positions!.narrow(0, 0, length));
      const srcKeyPaddingMask = mask.logicalNot(); // torch's convention: true = padding
      for (const layer of this.layers) x = layer.forward(x, { srcKeyPaddingMask });
      return x;
    });
  }
}
