import {
  BatchNorm1d,
  Conv2d,
  coordinateGrid,
  generatorFrom,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
} from '@polymodal/nn';
import {
  ArgumentError,
  cat,
  checkInRange,
  checkPositiveInt,
  type Generator,
  scope,
  type Tensor,
} from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
  type SharedRows,
} from './fusion-module.js';
import { resolveRoles } from './modality-roles.js';
import { maskedMean, pooled } from './sequence-utils.js';

/** Normalization inside each FiLM block (no affine parameters: FiLM supplies the scale and shift). */
export type FiLMNorm = 'batch' | 'layer' | 'none';

export interface FiLMFusionOptions extends FusionBaseOptions {
  /** The modality whose features are modulated (e.g. image cells). Default `'image'`. */
  target?: string;
  /** The modality (or modalities) producing γ and β. Default: every other modality (e.g. `'text'`). */
  condition?: string | readonly string[];
  /** Width of the modulated features. Default 64. */
  hiddenDim?: number;
  /** Residual FiLM blocks K. Default 2. */
  numBlocks?: number;
  /**
   * `'batch'` (the paper's BatchNorm over batch and cells; running statistics in the state dict),
   * `'layer'` (per cell, independent of the batch; needed when the target is padded) or `'none'`.
   * Default `'batch'`.
   */
  norm?: FiLMNorm;
  /**
   * How the modulated cells become `fused`: `'max'` (the paper's global max pool), `'mean'`, or
   * `'flatten'` (needs `grid`): every cell's features in order through one more linear layer +
   * ReLU, so `fused` knows *where* each feature is — measured on Sort-of-CLEVR, the left/right and
   * top/bottom questions are learned much faster this way. Default `'max'`.
   */
  pooling?: 'max' | 'mean' | 'flatten';
  /** Width of each output cell and of `fused`. Default `hiddenDim`. */
  outputDim?: number;
  /**
   * The target's cells form this `[h, w]` grid (row-major, e.g. a conv stem's output through
   * `featureMapToSequence`): each block's projection is then a 3×3 convolution over the grid, as
   * in the paper's residual blocks, instead of a per-cell linear map, so a block sees each cell's
   * neighbours. Default: none (per-cell blocks; any number of cells).
   */
  grid?: readonly [number, number];
  /**
   * The paper's coordinate maps (needs `grid`): each block first mixes every cell's features with
   * its x, y position through a 1×1 projection + ReLU, `r = ReLU(W_pre [h; x; y])`, and the block's
   * residual starts from `r`; the output projection sees `[h; x; y]` too. Measured on Sort-of-CLEVR
   * (PyTorch twin, same steps): without them the model sat at the answer prior for 3,000 steps.
   * Default false.
   */
  coordinates?: boolean;
  /**
   * Start the blocks from `ReLU(W_in x)` (true) or from the target's cells themselves (false; their
   * width must equal `hiddenDim`). Without it the cells reach the first block unclipped: measured on
   * Sort-of-CLEVR (PyTorch twin, 3,000 steps), 64.6 % against 61.7 % with it. Default true.
   */
  inputProjection?: boolean;
  /**
   * Multiplies the pooled condition before the generator: `[Δγ; β] = W_film·(s·q)`. A mean-pooled
   * question of L words carries each word at 1/L of its embedding, so with Adam (whose steps have
   * a fixed size per weight) γ and β move about L times more slowly for the word that matters
   * (the colour in "What shape is the red object?") than for a one-word condition. Measured on
   * Sort-of-CLEVR (PyTorch twin, `--q-scale`): with two question types, s = 8 reached 95.6 % at
   * step 200 where s = 1 was at 63.3 % (78.9 % at 600; apps/vqa/README.md). Default 1.
   */
  conditionScale?: number;
}

/** One residual block: `h + ReLU(γ ⊙ norm(W h) + β)`; W is a 3×3 convolution over a `grid`. */
class FiLMBlock extends Module {
  readonly linear: Linear | null = null;
  readonly conv: Conv2d | null = null;
  readonly norm: BatchNorm1d | LayerNorm | null;
  /** With coordinates: the 1×1 projection of `[h; x; y]` that starts the block. */
  readonly pre: Linear | null = null;

  constructor(
    width: number,
    norm: FiLMNorm,
    generator: Generator,
    readonly grid: readonly [number, number] | null,
    coordinates: boolean,
  ) {
    super();
    if (coordinates) this.pre = this.registerModule('pre', new Linear(width + 2, width, { generator }));
    // A bias before a normalization is cancelled by it.
    const bias = norm === 'none';
    if (grid)
      this.conv = this.registerModule('conv', new Conv2d(width, width, 3, { padding: 1, bias, generator }));
    else this.linear = this.registerModule('linear', new Linear(width, width, { bias, generator }));
    this.norm =
      norm === 'batch'
        ? this.registerModule('norm', new BatchNorm1d(width, { affine: false }))
        : norm === 'layer'
          ? this.registerModule('norm', new LayerNorm(width, { elementwiseAffine: false }))
          : null;
  }

  /**
   * `h [B, N, H]`, `gamma`, `beta` `[B, 1, H]`; `xy [N, 2]` with coordinates. With `rows`, `h` holds
   * shared rows `[R, N, H]` and sample i is row `rows[i]`: the projection and convolution, which do
   * not depend on the condition, run once per row, and their results are gathered before the
   * normalization (whose batch statistics are then the same as without sharing).
   */
  forward(h: Tensor, gamma: Tensor, beta: Tensor, xy?: Tensor, rows?: Tensor): Tensor {
    return scope(() => {
      if (this.pre) h = this.pre.forward(cat([h, xy!.unsqueeze(0).expand(h.shape[0]!, -1, 2)], -1)).relu();
      let u = this.conv ? this.convolve(h) : this.linear!.forward(h);
      if (rows) {
        h = h.indexSelect(0, rows);
        u = u.indexSelect(0, rows);
      }
      if (this.norm instanceof BatchNorm1d) {
        // Statistics per feature over every cell of every sample: [B·N, H] is BatchNorm1d's [N, C].
        const [b, n, width] = u.shape as [number, number, number];
        u = this.norm.forward(u.reshape(b * n, width)).reshape(b, n, width);
      } else if (this.norm) {
        u = this.norm.forward(u);
      }
      return h.add(u.mul(gamma).add(beta).relu());
    });
  }

  /** `[B, h·w, H]` cells → 3×3 conv on the `[B, H, h, w]` map → cells again. */
  private convolve(cells: Tensor): Tensor {
    const [b, n, width] = cells.shape as [number, number, number];
    const [gh, gw] = this.grid!;
    // Cells [B, h·w, H] are a channels-last map already: no transposes in or out.
    return this.conv!.forwardNhwc(cells.reshape(b, gh, gw, width)).reshape(b, n, width);
  }
}

/**
 * FiLM, Feature-wise Linear Modulation (Perez et al. 2018, "FiLM: Visual Reasoning with a General
 * Conditioning Layer"), as a fusion: the conditioning modality (the question; pooled `[B, D]`, or a
 * sequence mean-pooled over its real tokens) predicts a per-feature scale and shift for each of K
 * residual blocks that process the target modality's cells (image cells `[B, N, C]`, e.g. a conv
 * stem's output via `featureMapToSequence`, with coordinates if the caller appended them):
 *
 *   h₀ = ReLU(W_in x);  [Δγ_k; β_k] = W_film·q;  h_k = h_{k−1} + ReLU((1 + Δγ_k) ⊙ norm(W_k h_{k−1}) + β_k)
 *   sequence = ReLU(W_out h_K)  [B, N, outputDim];  fused = pool(sequence)  [B, outputDim]
 *
 * γ is predicted as 1 + Δγ, so an untrained block starts as a plain normalized residual block.
 * Defaults: `text` conditions `image`. Padded target cells (its mask) never reach `fused` (requires
 * `norm: 'layer'` or `'none'`: batch statistics would include them). Parameters
 * `(C + 1)·H + K·H² + (D_q + 1)·2KH + (H + 1)·o`; FLOPs about `2B·N·(C·H + K·H² + H·o)`.
 *
 * ```ts
 * const film = new FiLMFusion({ inputDims: { image: 66, text: 32 }, hiddenDim: 64, numBlocks: 3, seed: 0 });
 * const { fused, sequence } = film.forward({ image: cells, text: question }, { text: questionMask });
 * // fused [B, 64], sequence [B, N, 64]
 * ```
 */
export class FiLMFusion extends FusionModule {
  readonly inputKind = 'either';
  readonly outputDim: number;
  readonly hiddenDim: number;
  readonly target: string;
  readonly conditions: readonly string[];
  readonly norm: FiLMNorm;
  readonly pooling: 'max' | 'mean' | 'flatten';
  /** `'flatten'` pooling's layer: `[B, N·outputDim] → [B, outputDim]`. */
  readonly readout: Linear | null = null;
  /** The target's `[h, w]` grid when blocks convolve over it, else null. */
  readonly grid: [number, number] | null;
  /** `W_in`, or null with `inputProjection: false`. */
  readonly input: Linear | null;
  readonly film: Linear;
  readonly blocks: ModuleList<FiLMBlock>;
  readonly output: Linear;
  /** `conditionScale`: the pooled condition's factor before `film`. */
  readonly conditionScale: number;
  /** Whether blocks and output see the cells' coordinates (`coordinates` option). */
  readonly coordinates: boolean;
  /** The cells' `[N, 2]` (x, y) positions in [−1, 1] when `coordinates`. */
  private readonly xy: Tensor | null = null;

  constructor(options: FiLMFusionOptions) {
    super(options.inputDims, { minModalities: 2 });
    const op = 'FiLMFusion';
    const roles = resolveRoles(op, this.modalities, 'target', options.target, 'condition', options.condition);
    this.target = roles.subject;
    this.conditions = roles.conditions;
    const h = checkPositiveInt(op, 'hiddenDim', options.hiddenDim ?? 64);
    const k = checkPositiveInt(op, 'numBlocks', options.numBlocks ?? 2);
    this.hiddenDim = h;
    this.outputDim = checkPositiveInt(op, 'outputDim', options.outputDim ?? h);
    this.norm = options.norm ?? 'batch';
    if (!['batch', 'layer', 'none'].includes(this.norm)) {
      throw new ArgumentError(op, `norm must be 'batch', 'layer' or 'none', got '${this.norm}'`);
    }
    this.pooling = options.pooling ?? 'max';
    if (!['max', 'mean', 'flatten'].includes(this.pooling)) {
      throw new ArgumentError(op, `pooling must be 'max', 'mean' or 'flatten', got '${this.pooling}'`);
    }
    if (this.pooling === 'flatten' && !options.grid) {
      throw new ArgumentError(op, "pooling 'flatten' needs a grid (the number of cells must be fixed)");
    }
    const grid = options.grid ?? null;
    if (
      grid !== null &&
      !(Array.isArray(grid) && grid.length === 2 && grid.every((g) => Number.isInteger(g) && g > 0))
    )
      throw new ArgumentError(op, `grid must be [h, w] with positive integers, got ${JSON.stringify(grid)}`);
    this.grid = grid ? [grid[0]!, grid[1]!] : null;
    this.coordinates = options.coordinates ?? false;
    this.conditionScale = checkInRange(op, 'conditionScale', options.conditionScale ?? 1, 0, Infinity, '()');
    if (this.coordinates && !this.grid) {
      throw new ArgumentError(op, "coordinates needs a grid (each cell's position comes from it)");
    }
    if (this.grid && this.coordinates) {
      const [gh, gw] = this.grid;
      // [2, h, w] planes → [h·w, 2] rows, one (x, y) per cell in row-major order.
      const xy = scope(() =>
        coordinateGrid(gh, gw)
          .reshape(2, gh * gw)
          .transpose(0, 1),
      );
      this.xy = this.registerBuffer('xy', xy, false);
    }
    const generator = generatorFrom(options);
    const conditionWidth = this.conditions.reduce((s, m) => s + this.inputDims[m]!, 0);
    const targetWidth = this.inputDims[this.target]!;
    if (options.inputProjection === false && targetWidth !== h) {
      throw new ArgumentError(
        op,
        `inputProjection: false needs the target '${this.target}' to be hiddenDim wide (${h}), got ${targetWidth}`,
      );
    }
    this.input =
      options.inputProjection === false
        ? null
        : this.registerModule('input', new Linear(targetWidth, h, { generator }));
    this.film = this.registerModule('film', new Linear(conditionWidth, 2 * k * h, { generator }));
    this.blocks = this.registerModule(
      'blocks',
      new ModuleList<FiLMBlock>(
        Array.from({ length: k }, () => new FiLMBlock(h, this.norm, generator, this.grid, this.coordinates)),
      ),
    );
    const extra = this.coordinates ? 2 : 0;
    this.output = this.registerModule('output', new Linear(h + extra, this.outputDim, { generator }));
    if (this.pooling === 'flatten') {
      const cells = this.grid![0] * this.grid![1];
      this.readout = this.registerModule(
        'readout',
        new Linear(cells * this.outputDim, this.outputDim, { generator }),
      );
    }
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    return this.run(inputs, masks, null);
  }

  /**
   * With the target's rows shared (several questions about one image), the input projection and
   * the first block's coordinate projection and convolution run once per image, not once per
   * question; the result equals `forward` on the gathered cells (measured on the VQA app's batch
   * of 26 images × 5 questions: that block's convolution is a fifth of the work). Rows of other
   * modalities, or a target mask, take the default path (gather, then `forward`).
   */
  override forwardShared(inputs: FusionInputs, rows: SharedRows, masks: FusionMasks = {}): FusionOutput {
    const shared = Object.keys(rows ?? {});
    if (shared.length !== 1 || shared[0] !== this.target || masks?.[this.target]) {
      return super.forwardShared(inputs, rows, masks);
    }
    this.checkSharedRows(inputs, rows);
    return this.run(inputs, masks, rows[this.target]!);
  }

  /** `forward`, with the target's rows shared when `targetRows` is given. */
  private run(inputs: FusionInputs, masks: FusionMasks | undefined, targetRows: Tensor | null): FusionOutput {
    const {
      batch,
      tensors,
      masks: checked,
    } = this.checkInputs(inputs, masks, targetRows ? { [this.target]: targetRows } : {});
    const at = (m: string) => this.modalities.indexOf(m);
    const mask = checked[at(this.target)] ?? null;
    if (mask && this.norm === 'batch') {
      throw new ArgumentError(
        'FiLMFusion.forward',
        `a mask for the target '${this.target}' needs norm 'layer' or 'none': batch statistics would include its padded cells`,
      );
    }
    // [B, N, C], or [R, N, C] shared rows.
    const x = tensors[at(this.target)]!;
    const cells = x.rank === 2 ? x.unsqueeze(1) : x;
    if (this.grid && cells.shape[1] !== this.grid[0] * this.grid[1]) {
      throw new ArgumentError(
        'FiLMFusion.forward',
        `input '${this.target}' has ${cells.shape[1]} cells, but grid [${this.grid}] needs ${this.grid[0] * this.grid[1]}`,
      );
    }
    return scope(() => {
      const q = cat(
        this.conditions.map((m) => pooled(tensors[at(m)]!, checked[at(m)] ?? null)),
        -1,
      );
      const k = this.blocks.length;
      const params = this.film
        .forward(this.conditionScale === 1 ? q : q.mul(this.conditionScale))
        .reshape(batch, k, 2 * this.hiddenDim);
      const xy = this.xy ?? undefined;
      let h = this.input ? this.input.forward(cells).relu() : cells;
      for (let i = 0; i < k; i++) {
        // [B, 1, H] each, broadcast over the cells.
        const [deltaGamma, beta] = params.narrow(1, i, 1).chunk(2, -1) as [Tensor, Tensor];
        // The first block gathers shared rows after its convolution; h is [B, N, H] from then on.
        h = this.blocks
          .at(i)
          .forward(h, deltaGamma.add(1), beta, xy, i === 0 ? (targetRows ?? undefined) : undefined);
      }
      let sequence = this.output.forward(xy ? cat([h, xy.unsqueeze(0).expand(batch, -1, 2)], -1) : h).relu();
      // After the ReLU every value is ≥ 0: a zeroed padded cell never wins the max.
      if (mask) sequence = sequence.mul(mask.float().unsqueeze(-1));
      const fused =
        this.pooling === 'flatten'
          ? this.readout!.forward(sequence.reshape(batch, -1)).relu()
          : this.pooling === 'max'
            ? sequence.max(1)
            : maskedMean(sequence, mask);
      return mask ? { fused, sequence, mask } : { fused, sequence };
    });
  }
}
