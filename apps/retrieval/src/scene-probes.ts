import { Linear, Module } from '@polymodal/nn';
import {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  type Generator,
  scope,
  type Tensor,
  tensor,
} from '@polymodal/tensor';
import {
  CELL_CLASSES,
  COLOR_CLASSES,
  IGNORE,
  IMAGE_READOUT_PER_COLOR,
  SIZE_CLASSES,
  TEXT_READOUT_SLICES,
  TEXT_READOUT_WIDTH,
} from './scene-targets.js';

/** A batch's auxiliary targets, flattened row-major (built by `collateScenes`). */
export interface SceneTargets {
  /** `[I · cells]` cell classes (see `cellKinds`). */
  cellKinds: Int32Array;
  /** `[I · 6]` each: present (0/1), size and shape class (or −100); `[I · 6 · 2]` x/y. */
  present: Float32Array;
  size: Int32Array;
  shape: Int32Array;
  xy: Float32Array;
  /** `[P · 7]` per positive caption (see `captionReadoutTarget`). */
  captions: Int32Array;
}

/**
 * Training-only linear heads that read the scene back (the twin's `aux_head`, `aux_img`,
 * `aux_txt`): each image cell's object kind from its state; per colour present/size/shape/x/y from
 * the image embedding; the caption's subject, object and relation from the text embedding (both
 * embeddings before L2 normalisation). Search never uses them; they shape what the towers keep.
 */
export class SceneProbes extends Module {
  readonly cells: Linear;
  readonly imageReadout: Linear;
  readonly textReadout: Linear;

  constructor(dModel: number, embedDim: number, generator: Generator) {
    super();
    this.cells = this.registerModule('cells', new Linear(dModel, CELL_CLASSES, { generator }));
    this.imageReadout = this.registerModule(
      'imageReadout',
      new Linear(embedDim, COLOR_CLASSES.length * IMAGE_READOUT_PER_COLOR, { generator }),
    );
    this.textReadout = this.registerModule(
      'textReadout',
      new Linear(embedDim, TEXT_READOUT_WIDTH, { generator }),
    );
  }

  /** The three heads' outputs: cell-kind logits, image and caption read-outs. */
  override forward(cells: Tensor, imageEmbeds: Tensor, textEmbeds: Tensor): Tensor[] {
    return [
      this.cells.forward(cells),
      this.imageReadout.forward(imageEmbeds),
      this.textReadout.forward(textEmbeds),
    ];
  }

  /**
   * Cross-entropy of every cell's kind, averaged over all cells (empty ones included, class 0):
   * `cells [I, N, dModel]`.
   */
  cellLoss(cells: Tensor, kinds: Int32Array): Tensor {
    return scope(() => {
      const logits = this.cells.forward(cells).reshape([-1, CELL_CLASSES]);
      return crossEntropy(logits, tensor(kinds));
    });
  }

  /**
   * The read-out loss, as the twin's `aux_embed_loss`: for the image, BCE(present) + CE(size) +
   * CE(shape) over present colours + the squared x/y error summed over present colours / their
   * number; for the caption, the mean of its seven cross-entropies; the two added.
   * `imageEmbeds [I, e]`, `textEmbeds [P, e]` (the positives, not normalised).
   */
  readoutLoss(imageEmbeds: Tensor, textEmbeds: Tensor, t: SceneTargets): Tensor {
    return scope(() => {
      const i = imageEmbeds.shape[0]!;
      const colors = COLOR_CLASSES.length;
      const o = this.imageReadout.forward(imageEmbeds).reshape([i, colors, IMAGE_READOUT_PER_COLOR]);
      const s = SIZE_CLASSES.length;
      const present = tensor(t.present, { shape: [i, colors] });
      const presence = binaryCrossEntropyWithLogits(o.slice(2, 0, 1).reshape([i, colors]), present);
      const size = crossEntropy(o.slice(2, 1, 1 + s).reshape([i * colors, s]), tensor(t.size), {
        ignoreIndex: IGNORE,
      });
      const shape = crossEntropy(
        o.slice(2, 1 + s, IMAGE_READOUT_PER_COLOR - 2).reshape([i * colors, -1]),
        tensor(t.shape),
        { ignoreIndex: IGNORE },
      );
      const xyError = o
        .slice(2, IMAGE_READOUT_PER_COLOR - 2, IMAGE_READOUT_PER_COLOR)
        .sub(tensor(t.xy, { shape: [i, colors, 2] }))
        .square()
        .sum(-1)
        .mul(present)
        .sum()
        .div(present.sum().maximum(1));
      const image = presence.add(size).add(shape).add(xyError);
      const p = textEmbeds.shape[0]!;
      const out = this.textReadout.forward(textEmbeds);
      const targets = tensor(t.captions, { shape: [p, TEXT_READOUT_SLICES.length] });
      let text: Tensor | null = null;
      TEXT_READOUT_SLICES.forEach(([a, b], k) => {
        const ce = crossEntropy(out.slice(1, a, b), targets.slice(1, k, k + 1).reshape([p]));
        text = text ? text.add(ce) : ce;
      });
      return image.add(text!.div(TEXT_READOUT_SLICES.length));
    });
  }
}
