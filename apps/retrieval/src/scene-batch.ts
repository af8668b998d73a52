import {
  type RelationCaption,
  relationCaptionText,
  type Scene,
  type WordPieceTokenizer,
} from '@polymodal/data';
import { Generator } from '@polymodal/tensor';
import { captionHolds, imageTensor, type RetrievalBatch, type RetrievalImage, tokenTensors } from './data.js';
import { drawCaptions, falseCaption, sceneCaptionHolds, scenePairCaptions } from './scene-captions.js';
import type { SceneTargets } from './scene-probes.js';
import {
  COLOR_CLASSES,
  captionReadoutTarget,
  cellKinds,
  imageReadoutTarget,
  TEXT_READOUT_SLICES,
} from './scene-targets.js';

/** The parts of the recipe that read the scene annotations (`TrainConfig`'s fields of that name). */
export interface SceneRecipe {
  /** Captions per image per step, drawn from its clear object pairs. */
  capsPerImage: number;
  /** Generated false captions per image per step (extra image→text negatives). */
  negCaps: number;
  /** Of those, how many per image are also ITM negatives (the first ones). */
  itmGenNeg: number;
  /** Whether to build the auxiliary targets (cell kinds, read-outs). */
  targets: boolean;
  /** Side of the image tower's cell grid (for the cell kinds). */
  cellSide: number;
  seed: number;
}

/** What a scene batch adds to a {@link RetrievalBatch}. */
export interface SceneBatch {
  /** The captions drawn (positives, then the false ones), as data; no positives when K = 0. */
  positives: RelationCaption[];
  negatives: RelationCaption[];
  /** For false caption n, the batch row of the image it was made false for. */
  negativeImage: number[];
  /** `negativeHolds[p][n]`: false caption n is in fact true of pair p's image (kept out of its negatives). */
  negativeHolds: boolean[][];
  /** Indices into `negatives` that are also ITM negatives of their image. */
  itmNegatives: number[];
  targets: SceneTargets | null;
}

/** FNV-1a over the seed and the image ids: a batch's own random stream. */
function batchSeed(seed: number, ids: readonly number[]): number {
  let h = 0x811c9dc5 ^ seed;
  for (const v of ids) {
    for (const byte of [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255]) {
      h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    }
  }
  return h;
}

/**
 * Builds batches from scene annotations (the twin's `--caps-per-image`, `--neg-caps`,
 * `--itm-gen-neg`, `--aux-weight`, `--aux-embed-weight` recipe): per image, K captions drawn from
 * every ordered pair of its objects in a clear relation, and false captions; the truth of every
 * caption for every image of the batch from the scenes (so a caption true of another image is
 * never its negative); the auxiliary targets.
 *
 * The draws come from a generator seeded by the seed and the batch's image ids, so a resumed run
 * draws what the uninterrupted one drew (the loader's position is checkpointed; nothing else is
 * needed).
 */
export class SceneBatcher {
  private readonly pools = new Map<number, RelationCaption[]>();
  private readonly tokens = new Map<string, number[]>();

  constructor(
    private readonly recipe: SceneRecipe,
    private readonly tokenizer: WordPieceTokenizer,
  ) {}

  /** The image's clear-pair captions (computed once). */
  pool(image: RetrievalImage): RelationCaption[] {
    let p = this.pools.get(image.imageId);
    if (!p) {
      if (!image.scene) throw new Error(`image ${image.imageId} has no scene annotation`);
      p = scenePairCaptions(image.scene);
      this.pools.set(image.imageId, p);
    }
    return p;
  }

  /** Token ids of a caption (cached by text). */
  encode(c: RelationCaption): number[] {
    const text = relationCaptionText(c);
    let ids = this.tokens.get(text);
    if (!ids) {
      ids = this.tokenizer.encode(text).inputIds;
      this.tokens.set(text, ids);
    }
    return ids;
  }

  collate(images: readonly RetrievalImage[]): RetrievalBatch {
    const r = this.recipe;
    const g = new Generator(
      batchSeed(
        r.seed,
        images.map((im) => im.imageId),
      ),
    );
    const scenes = images.map((im) => {
      if (!im.scene) throw new Error(`image ${im.imageId} has no scene annotation`);
      return im.scene;
    });
    // K drawn clear-pair captions per image, or (K = 0) the image's own captions and their
    // generator-given truth.
    const positives: RelationCaption[] = [];
    const captionImage: number[] = [];
    const ids: number[][] = [];
    const own: boolean[][] = [];
    images.forEach((im, row) => {
      if (r.capsPerImage === 0) {
        for (const c of im.captions) {
          ids.push(c.inputIds);
          captionImage.push(row);
          own.push(images.map((other) => captionHolds(c, im.imageId, other.imageId)));
        }
        return;
      }
      for (const c of drawCaptions(this.pool(im), r.capsPerImage, g)) {
        positives.push(c);
        ids.push(this.encode(c));
        captionImage.push(row);
      }
    });
    const negatives: RelationCaption[] = [];
    const negativeImage: number[] = [];
    const itmNegatives: number[] = [];
    images.forEach((im, row) => {
      let made = 0;
      for (let k = 0; k < r.negCaps; k++) {
        const c = falseCaption(scenes[row]!, this.pool(im), g);
        if (!c) continue;
        if (made < r.itmGenNeg) itmNegatives.push(negatives.length);
        made++;
        negatives.push(c);
        negativeImage.push(row);
      }
    });
    const holds =
      r.capsPerImage === 0 ? own : positives.map((c) => scenes.map((s) => sceneCaptionHolds(s, c)));
    const negativeHolds = captionImage.map((row) => negatives.map((c) => sceneCaptionHolds(scenes[row]!, c)));
    return {
      pixelValues: imageTensor(images.map((im) => im.pixels)),
      ...tokenTensors([...ids, ...negatives.map((c) => this.encode(c))], this.tokenizer.padId),
      captionImage,
      holds,
      scenes: {
        positives,
        negatives,
        negativeImage,
        negativeHolds,
        itmNegatives,
        targets: r.targets ? sceneTargets(scenes, positives, r.cellSide) : null,
      },
    };
  }
}

/** The auxiliary targets of a batch, flattened row-major. */
export function sceneTargets(
  scenes: readonly Scene[],
  positives: readonly RelationCaption[],
  cellSide: number,
): SceneTargets {
  const cells = cellSide * cellSide;
  const colors = COLOR_CLASSES.length;
  const slices = TEXT_READOUT_SLICES.length;
  const t: SceneTargets = {
    cellKinds: new Int32Array(scenes.length * cells),
    present: new Float32Array(scenes.length * colors),
    size: new Int32Array(scenes.length * colors),
    shape: new Int32Array(scenes.length * colors),
    xy: new Float32Array(scenes.length * colors * 2),
    captions: new Int32Array(positives.length * slices),
  };
  scenes.forEach((s, i) => {
    t.cellKinds.set(cellKinds(s, cellSide), i * cells);
    const r = imageReadoutTarget(s);
    t.present.set(r.present, i * colors);
    t.size.set(r.size, i * colors);
    t.shape.set(r.shape, i * colors);
    t.xy.set(r.xy, i * colors * 2);
  });
  positives.forEach((c, p) => {
    t.captions.set(captionReadoutTarget(c), p * slices);
  });
  return t;
}
