import { UsageError } from '@polymodal/app-kit';
import { type ItmHead, itmHeadOf, type TrainConfig } from './config.js';
import type { RetrievalImage } from './data.js';
import type { SceneRecipe } from './scene-batch.js';

type RecipeFields = Pick<
  TrainConfig,
  'capsPerImage' | 'negCaps' | 'itmGenNeg' | 'auxWeight' | 'auxEmbedWeight' | 'itmHead'
>;

/** Whether any part of the recipe that reads scene annotations is on. */
export function usesScenes(c: RecipeFields): boolean {
  return c.capsPerImage > 0 || c.negCaps > 0 || c.auxWeight > 0 || c.auxEmbedWeight > 0;
}

/**
 * Refuses combinations that cannot work, naming the flags (before any work): ITM negatives from
 * generated false captions need false captions; the caption read-out needs generated captions (it
 * is taught their parse); the read-out ITM head needs the read-outs.
 */
export function checkSceneRecipe(c: RecipeFields): void {
  for (const [flag, v] of [
    ['--caps-per-image', c.capsPerImage],
    ['--neg-caps', c.negCaps],
    ['--itm-gen-neg', c.itmGenNeg],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new UsageError(`${flag} must be an integer ≥ 0, got ${v}`);
  }
  for (const [flag, v] of [
    ['--aux-weight', c.auxWeight],
    ['--aux-embed-weight', c.auxEmbedWeight],
  ] as const) {
    if (!Number.isFinite(v) || v < 0) throw new UsageError(`${flag} must be a number ≥ 0, got ${v}`);
  }
  if (c.itmGenNeg > c.negCaps) {
    throw new UsageError(
      `--itm-gen-neg ${c.itmGenNeg} takes its ITM negatives from the generated false captions: it needs --neg-caps ≥ ${c.itmGenNeg} (got --neg-caps ${c.negCaps})`,
    );
  }
  if (c.itmHead === 'readout' && c.auxEmbedWeight === 0) {
    throw new UsageError(
      '--itm-head readout matches a caption to an image through the scene read-outs of both embeddings: it needs --aux-embed-weight > 0 (got 0)',
    );
  }
  if (c.auxEmbedWeight > 0 && c.capsPerImage === 0) {
    throw new UsageError(
      `--aux-embed-weight ${c.auxEmbedWeight} teaches the caption embedding the parse of generated captions: it needs --caps-per-image ≥ 1 (got 0)`,
    );
  }
}

/** Side of the conv stem's cell grid (3×3 convs, padding 1), as `ConvStem` computes it. */
export function stemGridSide(imageSize: number, stem: TrainConfig['stem']): number {
  return stem.reduce((side, l) => Math.floor((side + 2 - 3) / l.stride) + 1, imageSize);
}

/**
 * The scene recipe of a run, or null when it is off (every field 0) or the training data has no
 * scene annotations (a user's own COCO data): then the run is the earlier recipe, with a note
 * saying so, not a crash.
 */
export function sceneRecipeOf(
  c: TrainConfig,
  images: readonly RetrievalImage[],
  log: (line: string) => void,
): SceneRecipe | null {
  checkSceneRecipe(c);
  if (!usesScenes(c)) return null;
  const missing = images.filter((im) => !im.scene).length;
  if (missing > 0) {
    log(
      `note: ${missing} of ${images.length} training images have no scene annotation (retrieval_groups_<split>.json ` +
        'with scenes, as the generator writes): --caps-per-image, --neg-caps, --itm-gen-neg, --aux-weight and ' +
        '--aux-embed-weight are off for this run; training uses each image’s own captions with ITC + ITM',
    );
    return null;
  }
  log(
    `scene recipe: ${c.capsPerImage || 'own'} captions per image per step${c.capsPerImage ? ' from its clear object pairs' : ''}, ` +
      `${c.negCaps} generated false captions (${c.itmGenNeg} as ITM negatives), cell-kind loss × ${c.auxWeight}, read-outs × ${c.auxEmbedWeight}`,
  );
  return {
    capsPerImage: c.capsPerImage,
    negCaps: c.negCaps,
    itmGenNeg: c.itmGenNeg,
    targets: c.auxWeight > 0 || c.auxEmbedWeight > 0,
    cellSide: stemGridSide(c.imageSize, c.stem),
    seed: c.seed,
  };
}

/**
 * The run's ITM head: `--itm-head`, by default the read-out head when the read-outs are on
 * (`itmHeadOf`). The read-out head reads the scene read-outs, which need the scene recipe; where it
 * is off for want of scene annotations (`recipe` null), the run uses the cross-attention fusion
 * head, with a note saying so.
 */
export function itmHeadOfRun(
  c: Pick<TrainConfig, 'itmHead' | 'auxEmbedWeight'>,
  recipe: SceneRecipe | null,
  log: (line: string) => void,
): ItmHead {
  const wanted = itmHeadOf(c);
  if (wanted === 'readout' && !recipe?.targets) {
    log(
      `note: the read-out ITM head (--itm-head readout${c.itmHead ? '' : ', the default with scene annotations'}) ` +
        'reads the scene read-outs, which need scene annotations: this run’s ITM head is the cross-attention fusion (--itm-head fusion)',
    );
    return 'fusion';
  }
  return wanted;
}
