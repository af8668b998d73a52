import { generatorFrom, Linear, MLP } from '@polymodal/nn';
import { ArgumentError, cat, checkPositiveInt, scope, type Tensor } from '@polymodal/tensor';
import {
  type FusionBaseOptions,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
} from './fusion-module.js';
import { resolveRoles } from './modality-roles.js';
import { pooled } from './sequence-utils.js';

export interface RelationalFusionOptions extends FusionBaseOptions {
  /** The modality whose cells form the pairs (the "objects"). Default `'image'`. */
  objects?: string;
  /** The modality (or modalities) conditioning every pair (the question). Default: every other modality. */
  question?: string | readonly string[];
  /** Width of g's layers (and of f's hidden layers). Default 64. */
  hiddenDim?: number;
  /** Layers of g (each Linear + ReLU; the first is split per term, see the class). Default 3. */
  gLayers?: number;
  /** Layers of f (Linear, with ReLU between; the last gives `fused`). Default 2. */
  fLayers?: number;
  /** Width of `fused`. Default `hiddenDim`. */
  outputDim?: number;
  /**
   * How the N² pair outputs are combined: `'mean'` (default) or `'sum'` (the paper's). A sum grows
   * with N² (1,296 pairs for 6×6 cells), and so do f's input and the gradients reaching g: with
   * `'sum'` lower the learning rate (or scale the input) accordingly.
   */
  aggregation?: 'mean' | 'sum';
}

/**
 * Relational fusion: a Relation Network (Santoro et al. 2017, "A simple neural network module for
 * relational reasoning") over the cells of one modality, conditioned on the others. Every ordered
 * pair of cells (o_i, o_j), i and j over all N cells (so N² pairs, i = j included), goes through an
 * MLP g together with the question q; the pair outputs are aggregated and an MLP f reads them out:
 *
 *   fused = f( agg_{i,j} g([o_i; o_j; q]) )
 *
 * Cells are `[B, N, D_o]` (e.g. `featureMapToSequence(stemOutput, { coords: true })`, so g sees
 * where each cell is); q is the question pooled (a `[B, L, D]` sequence is mean-pooled over its real
 * tokens) and concatenated. g's first layer is linear, so W·[o_i; o_j; q] = W_a·o_i + W_b·o_j + W_c·q
 * is computed per cell and per sample (`left`, `right`, `question`) and broadcast-added to
 * `[B, N, N, H]`: the `[B, N, N, 2D_o + D_q]` pair tensor is never built, and the first layer costs
 * `O(B·N·D_o·H)` instead of `O(B·N²·(2D_o + D_q)·H)`. The remaining g layers run on all pairs
 * (`2B·N²·H²` FLOPs each: the cost that grows with the grid). A mask over the cells (true = real)
 * drops every pair with a padded cell. Parameters `(2D_o + D_q + 1)·H + (gLayers − 1)·(H + 1)·H`
 * plus f's.
 *
 * ```ts
 * const rn = new RelationalFusion({ inputDims: { image: 26, text: 32 }, hiddenDim: 64, seed: 0 });
 * rn.forward({ image: cells, text: question }).fused; // cells [B, 36, 26] → fused [B, 64]
 * ```
 */
export class RelationalFusion extends FusionModule {
  readonly inputKind = 'either';
  readonly outputDim: number;
  readonly hiddenDim: number;
  readonly objects: string;
  readonly question: readonly string[];
  readonly aggregation: 'mean' | 'sum';
  /** g's first layer, per term: W_a·o_i + b (left), W_b·o_j (right), W_c·q (question). */
  readonly left: Linear;
  readonly right: Linear;
  readonly questionProjection: Linear;
  /** g's remaining layers (null with `gLayers: 1`). */
  readonly g: MLP | null;
  readonly f: MLP;

  constructor(options: RelationalFusionOptions) {
    super(options.inputDims, { minModalities: 2 });
    const op = 'RelationalFusion';
    const roles = resolveRoles(op, this.modalities, 'objects', options.objects, 'question', options.question);
    this.objects = roles.subject;
    this.question = roles.conditions;
    const h = checkPositiveInt(op, 'hiddenDim', options.hiddenDim ?? 64);
    const gLayers = checkPositiveInt(op, 'gLayers', options.gLayers ?? 3);
    const fLayers = checkPositiveInt(op, 'fLayers', options.fLayers ?? 2);
    this.hiddenDim = h;
    this.outputDim = checkPositiveInt(op, 'outputDim', options.outputDim ?? h);
    this.aggregation = options.aggregation ?? 'mean';
    if (this.aggregation !== 'mean' && this.aggregation !== 'sum') {
      throw new ArgumentError(op, `aggregation must be 'mean' or 'sum', got '${this.aggregation}'`);
    }
    const generator = generatorFrom(options);
    const objectWidth = this.inputDims[this.objects]!;
    const questionWidth = this.question.reduce((s, m) => s + this.inputDims[m]!, 0);
    this.left = this.registerModule('left', new Linear(objectWidth, h, { generator }));
    this.right = this.registerModule('right', new Linear(objectWidth, h, { bias: false, generator }));
    this.questionProjection = this.registerModule(
      'question',
      new Linear(questionWidth, h, { bias: false, generator }),
    );
    this.g =
      gLayers > 1
        ? this.registerModule(
            'g',
            new MLP(
              h,
              Array.from({ length: gLayers - 1 }, () => h),
              { generator },
            ),
          )
        : null;
    this.f = this.registerModule(
      'f',
      new MLP(h, [...Array.from({ length: fLayers - 1 }, () => h), this.outputDim], { generator }),
    );
  }

  forward(inputs: FusionInputs, masks?: FusionMasks): FusionOutput {
    const { batch, tensors, masks: checked } = this.checkInputs(inputs, masks);
    const at = (m: string) => this.modalities.indexOf(m);
    const x = tensors[at(this.objects)]!;
    const cells = x.rank === 2 ? x.unsqueeze(1) : x;
    const mask = checked[at(this.objects)] ?? null;
    const n = cells.shape[1]!;
    const h = this.hiddenDim;
    return scope(() => {
      const q = cat(
        this.question.map((m) => pooled(tensors[at(m)]!, checked[at(m)] ?? null)),
        -1,
      );
      // The question's term joins the left cell's before the broadcast: one [B, N, N, H] add.
      const a = this.left.forward(cells).add(this.questionProjection.forward(q).unsqueeze(1)); // [B, N, H]
      const b = this.right.forward(cells); // [B, N, H]
      let pairs = a
        .unsqueeze(2)
        .add(b.unsqueeze(1))
        .relu()
        .reshape(batch, n * n, h);
      if (this.g) pairs = this.g.forward(pairs).relu();
      let aggregated: Tensor;
      if (mask) {
        const m = mask.float();
        const pairMask = m
          .unsqueeze(2)
          .mul(m.unsqueeze(1))
          .reshape(batch, n * n, 1);
        aggregated = pairs.mul(pairMask).sum(1);
        if (this.aggregation === 'mean') aggregated = aggregated.div(pairMask.sum(1).maximum(1));
      } else {
        aggregated = this.aggregation === 'mean' ? pairs.mean(1) : pairs.sum(1);
      }
      return { fused: this.f.forward(aggregated) };
    });
  }
}
