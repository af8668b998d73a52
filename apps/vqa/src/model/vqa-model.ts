import { createFusion, type FusionInputs, type FusionMasks, type FusionModule } from '@polymodal/fusion';
import { ConvStem, type ConvStemLayer, Linear, MLP, Module } from '@polymodal/nn';
import { ArgumentError, cat, Generator, scope, type Tensor, tensor } from '@polymodal/tensor';
import { TextEncoder, type TextEncoderKind, type TextPooling } from './text-encoder.js';

/** Everything that fixes the architecture; saved as the bundle's `config.json`. */
export interface VqaModelConfig {
  imageSize: number;
  stem: ConvStemLayer[];
  dModel: number;
  textLayers: number;
  /** How the question is read (default `'transformer'`, the bundles written before the option). */
  textEncoder?: TextEncoderKind;
  /** How the Transformer's tokens become the question's vector (default `'mean'`). */
  questionPool?: TextPooling;
  /**
   * The answer head also reads a word-order vector of the question (`TextEncoder`'s `orderVector`),
   * next to the fused vector; FiLM stays conditioned on `questionPool`'s vector. Default false
   * (bundles written before the option); ignored by `textEncoder: 'gru'`.
   */
  headWordOrder?: boolean;
  numHeads: number;
  dropout: number;
  /** A fusion strategy by its registry name (`createFusion`), with its options. */
  fusion: { type: string } & Record<string, unknown>;
  vocabSize: number;
  padId: number;
  maxTextLength: number;
  numAnswers: number;
  seed: number;
}

/** What one forward pass returns. */
export interface VqaForward {
  /** `[B, numAnswers]` answer logits. */
  logits: Tensor;
  /** The fusion's output `[B, F]` (what the pretraining heads read). */
  fused: Tensor;
}

/**
 * The VQA model: a BatchNorm conv stem (`ConvStem` from `@polymodal/nn`; the default one in
 * src/config.ts is stride 2 from its first layer) turns the image into cells with coordinates, a
 * Transformer text encoder reads the question, and any registered fusion strategy (`film`, `relational`,
 * `early`, `intermediate`, `attention`, `late`, …) joins them into one vector that an MLP scores
 * against every answer. The answer bias starts at the answers' prior log-odds, so the first steps
 * are not spent learning the prior.
 *
 * `forward(pixelValues [B,3,S,S], inputIds [B,L] int32, mask [B,L] bool) → { logits, fused }`
 *
 * ```ts
 * const model = new VqaModel(config);
 * const { logits } = model.forward(pixels, ids, mask); // [B, numAnswers]
 * ```
 */
export class VqaModel extends Module {
  readonly image: ConvStem;
  readonly text: TextEncoder;
  readonly fusion: FusionModule;
  readonly head: MLP;
  /** Draws the dropout masks and nothing else (initialisation uses a generator of its own). */
  readonly dropoutGenerator: Generator;

  constructor(readonly config: VqaModelConfig) {
    super();
    const init = new Generator(config.seed);
    this.dropoutGenerator = new Generator(config.seed + 1);
    const d = config.dModel;
    // BatchNorm in the stem is what takes this from-scratch model off the blind baseline on
    // Sort-of-CLEVR (measured in PyTorch and here: without it the model answers from the question alone).
    this.image = this.registerModule(
      'image',
      new ConvStem(config.imageSize, { layers: config.stem, outputDim: d, generator: init }),
    );
    this.text = this.registerModule(
      'text',
      new TextEncoder(
        {
          vocabSize: config.vocabSize,
          padId: config.padId,
          maxLength: config.maxTextLength,
          dModel: d,
          numLayers: config.textLayers,
          kind: config.textEncoder ?? 'transformer',
          pooling: config.questionPool ?? 'mean',
          orderVector: config.headWordOrder ?? false,
          numHeads: config.numHeads,
          dropout: config.dropout,
        },
        this.dropoutGenerator,
      ),
    );
    const { type, ...options } = config.fusion;
    this.fusion = this.registerModule(
      'fusion',
      createFusion(type, {
        ...fusionDefaults(type, config, this.image.grid),
        ...options,
        inputDims: { image: d, text: d },
        generator: init,
      }),
    );
    const f = this.fusion.outputDim;
    this.head = this.registerModule(
      'head',
      new MLP(this.fusedDim, [f, config.numAnswers], { activation: 'gelu', generator: init }),
    );
  }

  /**
   * Width of `fuse`'s output: the fusion's, plus `dModel` with `headWordOrder` (a GRU reads in order
   * already and has no word-order vector).
   */
  get fusedDim(): number {
    return this.fusion.outputDim + (this.text.order ? this.config.dModel : 0);
  }

  /** Sets the answer layer's bias to the log-odds of each answer's training frequency. */
  setAnswerPrior(frequencies: readonly number[]): void {
    const last = [...this.head].reverse().find((m) => m instanceof Linear) as Linear;
    if (frequencies.length !== this.config.numAnswers)
      throw new ArgumentError(
        'VqaModel.setAnswerPrior',
        `expected ${this.config.numAnswers} frequencies, got ${frequencies.length}`,
      );
    const logOdds = frequencies.map((p) => {
      const q = Math.min(Math.max(p, 1e-4), 1 - 1e-4);
      return Math.log(q / (1 - q));
    });
    last.bias!.assign(tensor(logOdds));
  }

  /** Image cells `[B, N, d]` (one pass of the stem, reusable across several questions). */
  encodeImage(pixelValues: Tensor): Tensor {
    return this.image.forward(pixelValues);
  }

  /**
   * Fused `[B, fusedDim]` of image cells and text (with `headWordOrder`, the fusion's output and
   * the question's word-order vector, concatenated). With `imageIndex` (int32 `[B]`), `cells` holds one row
   * per image and question i is about image `imageIndex[i]`: the fusion's `forwardShared`, so work
   * that does not depend on the question runs once per image (FiLM's first convolution; equal
   * results to gathering the cells first).
   */
  fuse(cells: Tensor, inputIds: Tensor, mask: Tensor, imageIndex?: Tensor): Tensor {
    return scope(() => {
      const text = this.text.encode(inputIds, mask);
      const run = (inputs: FusionInputs, masks: FusionMasks = {}) => {
        const fused = imageIndex
          ? this.fusion.forwardShared(inputs, { image: imageIndex }, masks).fused
          : this.fusion.forward(inputs, masks).fused;
        return text.ordered ? cat([fused, text.ordered], 1) : fused;
      };
      // Strategies over pooled vectors (concat, sum, gated, …) get the mean cell and the question's
      // vector; FiLM (either) is conditioned on the encoder's own vector when it has one (GRU,
      // flatten); the others see every cell and token.
      if (this.fusion.inputKind === 'pooled') return run({ image: cells.mean(1), text: text.pooled });
      if (this.fusion.inputKind === 'either' && (this.text.gru || this.text.merge))
        return run({ image: cells, text: text.pooled });
      return run({ image: cells, text: text.sequence }, { text: mask });
    });
  }

  override forward(pixelValues: Tensor, inputIds: Tensor, mask: Tensor): VqaForward {
    return scope(() => {
      const fused = this.fuse(this.encodeImage(pixelValues), inputIds, mask);
      return { logits: this.head.forward(fused), fused };
    });
  }
}

/**
 * Sizes each strategy gets unless the config names its own: the model's width, its heads, the
 * stem's grid for strategies that convolve over the cells.
 */
function fusionDefaults(
  type: string,
  config: VqaModelConfig,
  grid: [number, number],
): Record<string, unknown> {
  const d = config.dModel;
  switch (type) {
    case 'film':
      return {
        hiddenDim: d,
        numBlocks: 3,
        grid,
        // The paper's coordinate maps: without them the PyTorch twin sat at the prior for 3,000 steps.
        coordinates: true,
        pooling: 'flatten',
        target: 'image',
        condition: 'text',
        outputDim: 2 * d,
      };
    case 'relational':
      return { hiddenDim: 2 * d, outputDim: 2 * d };
    case 'decision':
      // Each modality votes over the answers; the head reads the combined votes.
      return { numClasses: config.numAnswers };
    case 'hierarchical':
      return { dModel: d, numHeads: config.numHeads, outputDim: 2 * d, dropout: config.dropout };
    case 'early':
    case 'intermediate':
    case 'self-attention':
      return {
        dModel: d,
        numLayers: 2,
        numHeads: config.numHeads,
        dimFeedforward: 2 * d,
        dropout: config.dropout,
      };
    default:
      return { outputDim: 2 * d };
  }
}
