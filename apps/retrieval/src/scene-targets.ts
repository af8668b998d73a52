import {
  COLOR_NAMES,
  type ObjectDescription,
  type RelationCaption,
  type Scene,
  SHAPES,
  SIZES,
  SPATIAL_RELATIONS,
} from '@polymodal/data';

/**
 * The targets of the auxiliary losses, read off a scene's annotations — the same numbers as
 * `torch_twin.py` (`cell_labels`, `img_present`/`img_size`/`img_shape`/`img_xy`, `cap_target`),
 * class orders included (attribute values sorted by name, as the twin sorts them).
 */

export const SIZE_CLASSES = [...SIZES].sort();
export const COLOR_CLASSES = [...COLOR_NAMES].sort();
export const SHAPE_CLASSES = [...SHAPES].sort();
export const RELATION_CLASSES = [...SPATIAL_RELATIONS];
/** Cell classes: 0 = no object centred here, then 1 + size·18 + colour·3 + shape. */
export const CELL_CLASSES = 1 + SIZE_CLASSES.length * COLOR_CLASSES.length * SHAPE_CLASSES.length;
/** What the image read-out says per colour: present, size (2), shape (3), x, y. */
export const IMAGE_READOUT_PER_COLOR = 1 + SIZE_CLASSES.length + SHAPE_CLASSES.length + 2;
/** The caption read-out's width: subject and object size, colour, shape, then the relation. */
export const TEXT_READOUT_WIDTH =
  2 * (SIZE_CLASSES.length + COLOR_CLASSES.length + SHAPE_CLASSES.length) + RELATION_CLASSES.length;
/** Label of a colour with no object (skipped by the cross-entropies, PyTorch's −100). */
export const IGNORE = -100;

const index = (list: readonly string[], v: string) => {
  const i = list.indexOf(v);
  if (i < 0) throw new Error(`unknown attribute value '${v}' (known: ${list.join(', ')})`);
  return i;
};

/** The cell class of an object kind: 1 + size·18 + colour·3 + shape. */
export function objectKindClass(o: ObjectDescription): number {
  return (
    1 +
    index(SIZE_CLASSES, o.size) * COLOR_CLASSES.length * SHAPE_CLASSES.length +
    index(COLOR_CLASSES, o.color) * SHAPE_CLASSES.length +
    index(SHAPE_CLASSES, o.shape)
  );
}

/**
 * Per cell of a `side × side` grid (row-major), the kind of the object whose centre lies in it,
 * 0 where none (a later object overwrites an earlier one in the same cell, as in the twin).
 *
 * Why: a dense target tells every cell what it shows, which a contrastive loss over 32 images
 * says only weakly (the twin's per-cell head is at 99.8 % by step 1,500).
 */
export function cellKinds(scene: Scene, side: number): Int32Array {
  const out = new Int32Array(side * side);
  for (const o of scene.objects) {
    const cy = Math.min(side - 1, Math.floor((o.y * side) / scene.height));
    const cx = Math.min(side - 1, Math.floor((o.x * side) / scene.width));
    out[cy * side + cx] = objectKindClass(o);
  }
  return out;
}

/** What the image embedding's read-out is taught, per colour (in {@link COLOR_CLASSES} order). */
export interface ImageReadoutTarget {
  /** 1 when an object of that colour is in the scene (colours are distinct within a scene). */
  present: Float32Array;
  /** Its size and shape class, {@link IGNORE} when absent. */
  size: Int32Array;
  shape: Int32Array;
  /** Its centre, x then y, scaled to [−1, 1] by (v / (side − 1)) · 2 − 1; 0 when absent. */
  xy: Float32Array;
}

/**
 * The image read-out's target.
 *
 * Why: a linear read-out on the embedding (before L2 normalisation) makes the pooled vector keep
 * which size, shape and place goes with each colour — what the test set's distractors change.
 */
export function imageReadoutTarget(scene: Scene): ImageReadoutTarget {
  const n = COLOR_CLASSES.length;
  const t: ImageReadoutTarget = {
    present: new Float32Array(n),
    size: new Int32Array(n).fill(IGNORE),
    shape: new Int32Array(n).fill(IGNORE),
    xy: new Float32Array(2 * n),
  };
  for (const o of scene.objects) {
    const c = index(COLOR_CLASSES, o.color);
    t.present[c] = 1;
    t.size[c] = index(SIZE_CLASSES, o.size);
    t.shape[c] = index(SHAPE_CLASSES, o.shape);
    t.xy[2 * c] = (o.x / (scene.width - 1)) * 2 - 1;
    t.xy[2 * c + 1] = (o.y / (scene.height - 1)) * 2 - 1;
  }
  return t;
}

/**
 * The caption read-out's target: subject size, colour, shape, relation, object size, colour,
 * shape (class indices).
 */
export function captionReadoutTarget(c: RelationCaption): number[] {
  return [
    index(SIZE_CLASSES, c.subject.size),
    index(COLOR_CLASSES, c.subject.color),
    index(SHAPE_CLASSES, c.subject.shape),
    index(RELATION_CLASSES, c.relation),
    index(SIZE_CLASSES, c.object.size),
    index(COLOR_CLASSES, c.object.color),
    index(SHAPE_CLASSES, c.object.shape),
  ];
}

/**
 * Where each of {@link captionReadoutTarget}'s seven classes sits in the caption read-out's
 * output: [start, end) columns — the twin's `cuts` (subject size, colour, shape, relation at the
 * end, object size, colour, shape).
 */
export const TEXT_READOUT_SLICES: readonly (readonly [number, number])[] = (() => {
  const s = SIZE_CLASSES.length;
  const c = COLOR_CLASSES.length;
  const h = SHAPE_CLASSES.length;
  const o = s + c + h;
  return [
    [0, s],
    [s, s + c],
    [s + c, o],
    [2 * o, 2 * o + RELATION_CLASSES.length],
    [o, o + s],
    [o + s, o + s + c],
    [o + s + c, 2 * o],
  ] as const;
})();
