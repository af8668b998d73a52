import { ArgumentError, type Generator } from '@polymodal/tensor';
import {
  captionHolds,
  clearRelation,
  objectDescription,
  type RelationCaption,
  reverseCaption,
} from './relation-captions.js';
import { COLOR_NAMES, type Scene, type SceneObject, SHAPES, sampleScene } from './scene.js';

/**
 * How a distractor differs from its group's original: one attribute of the caption's subject or
 * object, or the two objects' places swapped (the relation reversed).
 */
export type DistractorKind = 'subject' | 'object' | 'relation';

export const DISTRACTOR_KINDS: readonly DistractorKind[] = ['subject', 'object', 'relation'];

/** One image of a group: its scene, what changed, and the captions that hold for it alone. */
export interface GroupImage {
  scene: Scene;
  /** `original`, or the distractor kind. */
  kind: 'original' | DistractorKind;
  /** For attribute distractors: which attribute changed (`relation` for a swap, null for the original). */
  changed: 'color' | 'shape' | 'size' | 'relation' | null;
  /** 1 or 2 captions about the group's pair: as drawn, and/or said from the other object. */
  captions: RelationCaption[];
}

export interface RetrievalGroupOptions {
  /** Image side in pixels. Default 48. */
  size?: number;
  /** Objects per scene, drawn uniformly from [minObjects, maxObjects]. Default 3 and 6. */
  minObjects?: number;
  maxObjects?: number;
  /** The distractors each group gets, in order. Default all three kinds: a group of 4 images. */
  distractors?: readonly DistractorKind[];
  /** Captions per image: 1 (one phrasing, drawn at random) or 2 (both phrasings). Default 2. */
  captionsPerImage?: 1 | 2;
  /**
   * How clearly a caption's relation must hold: the offset along its axis at least `ratio` times
   * the other (default 2: within ±26.6° of the axis).
   */
  relationRatio?: number;
}

/** Options with their defaults filled in and validated. */
export interface ResolvedRetrievalGroupOptions {
  size: number;
  minObjects: number;
  maxObjects: number;
  distractors: DistractorKind[];
  captionsPerImage: 1 | 2;
  relationRatio: number;
}

export function resolveRetrievalGroupOptions(o: RetrievalGroupOptions = {}): ResolvedRetrievalGroupOptions {
  const op = 'sampleRetrievalGroup';
  const r: ResolvedRetrievalGroupOptions = {
    size: o.size ?? 48,
    minObjects: o.minObjects ?? 3,
    maxObjects: o.maxObjects ?? 6,
    distractors: [...(o.distractors ?? DISTRACTOR_KINDS)],
    captionsPerImage: o.captionsPerImage ?? 2,
    relationRatio: o.relationRatio ?? 2,
  };
  if (!Number.isInteger(r.size) || r.size < 16)
    throw new ArgumentError(op, `size must be an integer ≥ 16, got ${r.size}`);
  if (
    !Number.isInteger(r.minObjects) ||
    r.minObjects < 2 ||
    r.maxObjects > COLOR_NAMES.length ||
    r.minObjects > r.maxObjects
  ) {
    throw new ArgumentError(
      op,
      `objects per scene must satisfy 2 ≤ minObjects ≤ maxObjects ≤ ${COLOR_NAMES.length}, got ${r.minObjects}..${r.maxObjects}`,
    );
  }
  const bad = r.distractors.find((k) => !DISTRACTOR_KINDS.includes(k));
  if (bad !== undefined) {
    throw new ArgumentError(op, `unknown distractor kind '${bad}' (known: ${DISTRACTOR_KINDS.join(', ')})`);
  }
  if (r.captionsPerImage !== 1 && r.captionsPerImage !== 2) {
    throw new ArgumentError(op, `captionsPerImage must be 1 or 2, got ${r.captionsPerImage}`);
  }
  if (!(r.relationRatio >= 1))
    throw new ArgumentError(op, `relationRatio must be ≥ 1, got ${r.relationRatio}`);
  return r;
}

/** Same placement rules as `sampleScene`: inside the image, 2 px between objects. */
function fits(scene: Scene, objects: SceneObject[]): boolean {
  return objects.every(
    (o, i) =>
      o.x - o.radius >= 1 &&
      o.y - o.radius >= 1 &&
      o.x + o.radius <= scene.width - 1 &&
      o.y + o.radius <= scene.height - 1 &&
      objects.every((p, j) => j === i || Math.hypot(o.x - p.x, o.y - p.y) > o.radius + p.radius + 2),
  );
}

/** Radius `sampleScene` gives each size at this image side. */
function radiusFor(sceneSize: number, size: SceneObject['size']): number {
  return size === 'large'
    ? Math.max(2, Math.round(sceneSize * 0.09))
    : Math.max(1, Math.round(sceneSize * 0.06));
}

/** One attribute of object `index` changed (a colour not in the scene, another shape or size), or null. */
function changeAttribute(
  g: Generator,
  scene: Scene,
  index: number,
): { scene: Scene; changed: 'color' | 'shape' | 'size' } | null {
  const o = scene.objects[index]!;
  const used = new Set(scene.objects.map((p) => p.color));
  const options: { changed: 'color' | 'shape' | 'size'; object: SceneObject }[] = [];
  const freeColors = COLOR_NAMES.filter((c) => !used.has(c));
  if (freeColors.length > 0) {
    options.push({ changed: 'color', object: { ...o, color: freeColors[g.integer(0, freeColors.length)]! } });
  }
  const shapes = SHAPES.filter((s) => s !== o.shape);
  options.push({ changed: 'shape', object: { ...o, shape: shapes[g.integer(0, shapes.length)]! } });
  const size = o.size === 'large' ? 'small' : 'large';
  options.push({ changed: 'size', object: { ...o, size, radius: radiusFor(scene.width, size) } });
  // Draw among the options that fit (a larger object may now touch a neighbour).
  const feasible = options.filter((c) => {
    const objects = scene.objects.map((p, i) => (i === index ? c.object : p));
    return fits(scene, objects);
  });
  if (feasible.length === 0) return null;
  const pick = feasible[g.integer(0, feasible.length)]!;
  return {
    scene: { ...scene, objects: scene.objects.map((p, i) => (i === index ? pick.object : p)) },
    changed: pick.changed,
  };
}

/** The scene with objects `i` and `j` in each other's places, or null when that does not fit. */
function swapPlaces(scene: Scene, i: number, j: number): Scene | null {
  const a = scene.objects[i]!;
  const b = scene.objects[j]!;
  const objects = scene.objects.map((p, k) =>
    k === i ? { ...p, x: b.x, y: b.y } : k === j ? { ...p, x: a.x, y: a.y } : p,
  );
  const swapped = { ...scene, objects };
  return fits(swapped, objects) ? swapped : null;
}

/**
 * Samples one group of a hard image–text retrieval set: an original scene (Sort-of-CLEVR objects,
 * 3–6 of distinct colours) with a pair of objects in a clear spatial relation, and distractor
 * scenes that differ from it in exactly one way —
 *
 * - `subject`: one attribute (colour, shape or size) of the caption's first object,
 * - `object`: one attribute of its second object,
 * - `relation`: the two objects swap places, so the relation reverses —
 *
 * each with captions about its own version of the pair ("a small red circle above a large blue
 * square", and said the other way round, "a large blue square below a small red circle"). Every
 * caption holds for its own image and, leniently checked, for no other image of the group: only a
 * model that binds attributes to objects and reads their relation tells the group apart (the idea
 * of Winoground, Thrush et al. 2022, and of ARO/SugarCrepe's swap and replace negatives).
 * Deterministic for a given generator state; draws again (from the same generator) until every
 * distractor fits.
 *
 * ```ts
 * const group = sampleRetrievalGroup(new Generator(1), { size: 48 });
 * group.map((im) => im.kind); // ['original', 'subject', 'object', 'relation']
 * group[3].captions[0];       // { subject: …, relation: 'below', object: … }
 * ```
 */
export function sampleRetrievalGroup(g: Generator, options: RetrievalGroupOptions = {}): GroupImage[] {
  const o = resolveRetrievalGroupOptions(options);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const group = tryGroup(g, o);
    if (group) return group;
  }
  throw new ArgumentError(
    'sampleRetrievalGroup',
    `could not build a group in 1000 attempts at size ${o.size} with ${o.minObjects}..${o.maxObjects} objects`,
  );
}

function tryGroup(g: Generator, o: ResolvedRetrievalGroupOptions): GroupImage[] | null {
  const count = g.integer(o.minObjects, o.maxObjects + 1);
  let scene: Scene;
  try {
    scene = sampleScene(g, { size: o.size, objects: count });
  } catch {
    return null; // no room for this many objects this time
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < scene.objects.length; i++) {
    for (let j = 0; j < scene.objects.length; j++) {
      if (i !== j && clearRelation(scene.objects[i]!, scene.objects[j]!, o.relationRatio)) pairs.push([i, j]);
    }
  }
  if (pairs.length === 0) return null;
  const [si, oi] = pairs[g.integer(0, pairs.length)]!;
  const images: Omit<GroupImage, 'captions'>[] = [{ scene, kind: 'original', changed: null }];
  for (const kind of o.distractors) {
    if (kind === 'relation') {
      const swapped = swapPlaces(scene, si, oi);
      if (!swapped) return null;
      images.push({ scene: swapped, kind, changed: 'relation' });
    } else {
      const changed = changeAttribute(g, scene, kind === 'subject' ? si : oi);
      if (!changed) return null;
      images.push({ scene: changed.scene, kind, changed: changed.changed });
    }
  }
  const out: GroupImage[] = [];
  for (const im of images) {
    const a = im.scene.objects[si]!;
    const b = im.scene.objects[oi]!;
    const relation = clearRelation(a, b, o.relationRatio);
    if (!relation) return null;
    const forward: RelationCaption = {
      subject: objectDescription(a),
      relation,
      object: objectDescription(b),
    };
    const both = [forward, reverseCaption(forward)];
    const captions = o.captionsPerImage === 2 ? both : [both[g.integer(0, 2)]!];
    out.push({ ...im, captions });
  }
  // Each image's captions must single it out within the group.
  for (const [i, im] of out.entries()) {
    for (const [j, other] of out.entries()) {
      if (i !== j && im.captions.some((c) => captionHolds(other.scene, c, o.relationRatio))) return null;
    }
  }
  return out;
}
