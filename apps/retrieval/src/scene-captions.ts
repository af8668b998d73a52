import {
  COLOR_NAMES,
  captionHolds,
  clearRelation,
  type ObjectDescription,
  objectDescription,
  type RelationCaption,
  type Scene,
  SHAPES,
  SIZES,
} from '@polymodal/data';
import type { Generator } from '@polymodal/tensor';

/**
 * Training captions made from a scene's annotations, with the generator's own template (the
 * recipe the PyTorch twin proved, `torch_twin.py --caps-per-image --neg-caps`).
 *
 * Why: the generated set gives each image two captions about one pair of objects, 16,000 captions
 * for 8,000 images, which a from-scratch dual encoder memorises; every other ordered pair of the
 * scene in a clear relation is as true, so a step can draw K of them per image (the twin: about
 * 10 per image, 8 drawn a step).
 */

/**
 * Every ordered pair (a, b) of distinct objects whose relation is clear (exactly one plausible
 * relation, as the generator's captions are made), as captions "a ‹a› ‹relation› a ‹b›".
 * The image's own generated captions are among them.
 */
export function scenePairCaptions(scene: Scene): RelationCaption[] {
  const out: RelationCaption[] = [];
  for (const a of scene.objects) {
    for (const b of scene.objects) {
      if (a === b) continue;
      const relation = clearRelation(a, b);
      if (relation) out.push({ subject: objectDescription(a), relation, object: objectDescription(b) });
    }
  }
  return out;
}

/**
 * Whether a caption is true of a scene, leniently (a near-diagonal pair counts both ways): the
 * truth used for in-batch negatives, so that a caption that is also true of another image of the
 * batch is never pushed away from it.
 */
export function sceneCaptionHolds(scene: Scene, caption: RelationCaption): boolean {
  return captionHolds(scene, caption);
}

/**
 * Up to `k` of the pool, drawn without replacement (all of it when it has `k` or fewer), in the
 * drawn order — the twin's `randperm(len)[:k]`.
 */
export function drawCaptions<T>(pool: readonly T[], k: number, generator: Generator): T[] {
  if (pool.length <= k) return [...pool];
  const order = pool.map((_, i) => i);
  // Partial Fisher–Yates: the first k places of a uniform permutation.
  for (let i = 0; i < k; i++) {
    const j = generator.integer(i, order.length);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, k).map((i) => pool[i]!);
}

const ATTRIBUTE_VALUES = {
  size: SIZES as readonly string[],
  color: COLOR_NAMES as readonly string[],
  shape: SHAPES as readonly string[],
};
const ATTRIBUTES = ['size', 'color', 'shape'] as const;

/**
 * A caption that is false of the scene, made as the test set's distractors are: one of its clear
 * pair captions with one attribute of the subject or of the object changed, or subject and object
 * swapped (the relation reversed) — 7 equally likely edits. Up to 20 tries; null when every try
 * was still true (a scene can hold the edited pair too).
 *
 * Why: such captions are the hard negatives the test set asks about (an extra image→text
 * negative of the contrastive loss, NegCLIP-style, and an ITM negative).
 */
export function falseCaption(
  scene: Scene,
  pool: readonly RelationCaption[],
  generator: Generator,
): RelationCaption | null {
  if (pool.length === 0) return null;
  for (let attempt = 0; attempt < 20; attempt++) {
    const c = pool[generator.integer(0, pool.length)]!;
    const how = generator.integer(0, 7);
    let edited: RelationCaption;
    if (how === 6) {
      edited = { subject: c.object, relation: c.relation, object: c.subject };
    } else {
      const which = how < 3 ? 'subject' : 'object';
      const attribute = ATTRIBUTES[how % 3]!;
      const others = ATTRIBUTE_VALUES[attribute].filter((v) => v !== c[which][attribute]);
      const changed = {
        ...c[which],
        [attribute]: others[generator.integer(0, others.length)]!,
      } as ObjectDescription;
      edited = { ...c, [which]: changed };
    }
    if (!captionHolds(scene, edited)) return edited;
  }
  return null;
}
