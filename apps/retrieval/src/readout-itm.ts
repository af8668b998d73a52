import { Linear, Module, ReLU, Sequential } from '@polymodal/nn';
import { cat, type Generator, scope, type Tensor } from '@polymodal/tensor';
import {
  COLOR_CLASSES,
  IMAGE_READOUT_PER_COLOR,
  SHAPE_CLASSES,
  SIZE_CLASSES,
  TEXT_READOUT_SLICES,
  TEXT_READOUT_WIDTH,
} from './scene-targets.js';

/** Hidden width of the head's MLP (the twin's `--mlp-hidden` default). */
export const READOUT_ITM_HIDDEN = 256;

// The caption read-out's columns by meaning: TEXT_READOUT_SLICES lists subject size, colour,
// shape, the relation, object size, colour, shape (captionReadoutTarget's order).
const part = (k: number) => TEXT_READOUT_SLICES[k]!;
const SUBJECT_COLOR = part(1);
const OBJECT_COLOR = part(5);
/** The caption's other distributions, in the twin's order: subject size, shape, object size, shape, relation. */
const CAPTION_PARSE = [0, 2, 4, 6, 3].map(part);
const S = SIZE_CLASSES.length;
const H = SHAPE_CLASSES.length;
/** Width of the MLP's input: two colour rows, their x/y offset, the caption's parse. */
export const READOUT_ITM_INPUT =
  2 * IMAGE_READOUT_PER_COLOR + 2 + CAPTION_PARSE.reduce((n, [a, b]) => n + b - a, 0);

/**
 * An image–text matching head over the two embeddings' scene read-outs (the PyTorch twin's
 * `ReadoutITM`, `torch_twin.py --readout-itm 1`).
 *
 * Why it exists: the co-attention ITM head stays near chance on the generated scenes, so
 * re-ranking by it lowers R@1; in the twin this head re-ranks the top 16 to 98–99.8 % R@1
 * (`results/itm-rerank-search.json`). It reads what the scene recipe already teaches the read-outs:
 * the caption read-out's subject and object colour distributions (softmax) each take a weighted
 * sum of the image read-out's per-colour rows (sigmoid(present), softmax(size), softmax(shape), raw
 * x, y) — the caption's colours attend over the image's colours — and an MLP (Linear, ReLU, Linear,
 * ReLU, Linear → 2) decides from the two rows, the object's x/y minus the subject's and the
 * caption's size, shape and relation distributions. It relies on what the generator guarantees
 * (colours are distinct within a scene, so a colour names an object): a head for the generated
 * data, not for COCO.
 *
 * ```ts
 * const head = new ReadoutItm(new Generator(1));
 * head.forward(imageReadout, captionReadout); // [B, 48], [B, 26] → [B, 2], column 1 = match
 * ```
 */
export class ReadoutItm extends Module {
  readonly net: Sequential;

  constructor(generator: Generator, hidden = READOUT_ITM_HIDDEN) {
    super();
    this.net = this.registerModule(
      'net',
      new Sequential(
        new Linear(READOUT_ITM_INPUT, hidden, { generator }),
        new ReLU(),
        new Linear(hidden, hidden, { generator }),
        new ReLU(),
        new Linear(hidden, 2, { generator }),
      ),
    );
  }

  /**
   * `imageReadout [B, colours · 8]` (per colour: present, size ×2, shape ×3, x, y; the probes'
   * `imageReadout` of the image embedding) and `captionReadout [B, 26]` (the probes' `textReadout`)
   * → match logits `[B, 2]` (column 1 = match).
   */
  override forward(imageReadout: Tensor, captionReadout: Tensor): Tensor {
    const colors = COLOR_CLASSES.length;
    const b = imageReadout.shape[0]!;
    if (
      imageReadout.shape.length !== 2 ||
      imageReadout.shape[1] !== colors * IMAGE_READOUT_PER_COLOR ||
      captionReadout.shape.length !== 2 ||
      captionReadout.shape[0] !== b ||
      captionReadout.shape[1] !== TEXT_READOUT_WIDTH
    ) {
      throw new Error(
        `ReadoutItm: expected image read-outs [B, ${colors * IMAGE_READOUT_PER_COLOR}] and caption read-outs [B, ${TEXT_READOUT_WIDTH}], got [${imageReadout.shape}] and [${captionReadout.shape}]`,
      );
    }
    return scope(() => {
      const o = imageReadout.reshape([b, colors, IMAGE_READOUT_PER_COLOR]);
      const rows = cat(
        [
          o.narrow(2, 0, 1).sigmoid(),
          o.narrow(2, 1, S).softmax(-1),
          o.narrow(2, 1 + S, H).softmax(-1),
          o.narrow(2, 1 + S + H, 2),
        ],
        2,
      ); // [B, colours, 8]
      const dist = ([a, e]: readonly [number, number]) => captionReadout.slice(1, a, e).softmax(-1);
      // The caption's colour distribution [B, 1, colours] @ the image's rows → [B, 8].
      const pick = (slice: readonly [number, number]) => dist(slice).unsqueeze(1).matmul(rows).squeeze(1);
      const subject = pick(SUBJECT_COLOR);
      const object = pick(OBJECT_COLOR);
      const xy = (r: Tensor) => r.narrow(1, IMAGE_READOUT_PER_COLOR - 2, 2);
      const features = cat([subject, object, xy(object).sub(xy(subject)), ...CAPTION_PARSE.map(dist)], 1);
      return this.net.forward(features);
    });
  }
}
