import type { Color, Scene, SceneObject, Shape, Size } from './scene.js';

/** Where the subject is relative to the object, as captions say it. */
export type SpatialRelation = 'above' | 'below' | 'to the left of' | 'to the right of';

export const SPATIAL_RELATIONS: readonly SpatialRelation[] = [
  'above',
  'below',
  'to the left of',
  'to the right of',
];

/** The three attributes a caption names an object by ("small red circle"). */
export interface ObjectDescription {
  size: Size;
  color: Color;
  shape: Shape;
}

/** A caption as data: "a ‹subject› ‹relation› a ‹object›". */
export interface RelationCaption {
  subject: ObjectDescription;
  relation: SpatialRelation;
  object: ObjectDescription;
}

/** The relation that says the same thing with subject and object exchanged. */
export function inverseRelation(r: SpatialRelation): SpatialRelation {
  switch (r) {
    case 'above':
      return 'below';
    case 'below':
      return 'above';
    case 'to the left of':
      return 'to the right of';
    default:
      return 'to the left of';
  }
}

/** "small red circle". */
export function describeAttributes(o: ObjectDescription): string {
  return `${o.size} ${o.color} ${o.shape}`;
}

/**
 * The caption's text: `a small red circle above a large blue square`.
 *
 * ```ts
 * relationCaptionText({ subject: { size: 'small', color: 'red', shape: 'circle' }, relation: 'above',
 *   object: { size: 'large', color: 'blue', shape: 'square' } }); // 'a small red circle above a large blue square'
 * ```
 */
export function relationCaptionText(c: RelationCaption): string {
  return `a ${describeAttributes(c.subject)} ${c.relation} a ${describeAttributes(c.object)}`;
}

/** The same fact said from the other object: "a large blue square below a small red circle". */
export function reverseCaption(c: RelationCaption): RelationCaption {
  return { subject: c.object, relation: inverseRelation(c.relation), object: c.subject };
}

/**
 * The relations a viewer could use for `a` relative to `b` (y grows downwards): the vertical one
 * ('above' / 'below') when the vertical offset is more than `1/ratio` of the horizontal one, and
 * the horizontal one likewise. With `ratio` = 2 an offset within ±26.6° of an axis (the offset along
 * it at least twice the other) gives one relation, a clear one; a near-diagonal offset gives two
 * (either could be said); coincident centres give none.
 *
 * ```ts
 * plausibleRelations({ x: 10, y: 10 }, { x: 12, y: 40 }); // ['above']
 * plausibleRelations({ x: 10, y: 10 }, { x: 30, y: 25 }); // ['above', 'to the left of']
 * ```
 */
export function plausibleRelations(
  a: Pick<SceneObject, 'x' | 'y'>,
  b: Pick<SceneObject, 'x' | 'y'>,
  ratio = 2,
): SpatialRelation[] {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const out: SpatialRelation[] = [];
  if (dy !== 0 && ratio * Math.abs(dy) > Math.abs(dx)) out.push(dy > 0 ? 'above' : 'below');
  if (dx !== 0 && ratio * Math.abs(dx) > Math.abs(dy))
    out.push(dx > 0 ? 'to the left of' : 'to the right of');
  return out;
}

/** The one relation of `a` to `b` when it is clear (see {@link plausibleRelations}), else null. */
export function clearRelation(
  a: Pick<SceneObject, 'x' | 'y'>,
  b: Pick<SceneObject, 'x' | 'y'>,
  ratio = 2,
): SpatialRelation | null {
  const r = plausibleRelations(a, b, ratio);
  return r.length === 1 ? r[0]! : null;
}

const matches = (o: SceneObject, d: ObjectDescription) =>
  o.size === d.size && o.color === d.color && o.shape === d.shape;

/**
 * Whether a viewer could read the caption off the scene: some object fits the subject, another
 * fits the object, and the relation is one of their plausible relations. Deliberately lenient
 * (near-diagonal pairs count both ways), so that "the caption does not hold" means it clearly
 * does not.
 *
 * ```ts
 * captionHolds(scene, caption); // true for the scene it was made from
 * ```
 */
export function captionHolds(scene: Scene, caption: RelationCaption, ratio = 2): boolean {
  for (const a of scene.objects) {
    if (!matches(a, caption.subject)) continue;
    for (const b of scene.objects) {
      if (b === a || !matches(b, caption.object)) continue;
      if (plausibleRelations(a, b, ratio).includes(caption.relation)) return true;
    }
  }
  return false;
}

/** A key per object kind, e.g. `small red circle` (used to index scenes by what they contain). */
export function objectKey(o: ObjectDescription): string {
  return describeAttributes(o);
}

/** The attributes of a scene object, as a caption names it. */
export function objectDescription(o: SceneObject): ObjectDescription {
  return { size: o.size, color: o.color, shape: o.shape };
}
