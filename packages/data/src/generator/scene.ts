import { ArgumentError, type Generator } from '@polymodal/tensor';

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export const SIZES = ['small', 'large'] as const;
/** The six Sort-of-CLEVR colours, with the RGB used to draw them. */
export const COLORS = {
  red: [230, 25, 25],
  green: [25, 180, 40],
  blue: [30, 60, 230],
  orange: [250, 140, 0],
  gray: [128, 128, 128],
  yellow: [240, 220, 20],
} as const;
export type Shape = (typeof SHAPES)[number];
export type Size = (typeof SIZES)[number];
export type Color = keyof typeof COLORS;
export const COLOR_NAMES = Object.keys(COLORS) as Color[];

export interface SceneObject {
  shape: Shape;
  color: Color;
  size: Size;
  /** Center in pixels (y grows downwards). */
  x: number;
  y: number;
  /** Half extent in pixels. */
  radius: number;
}

export interface Scene {
  width: number;
  height: number;
  objects: SceneObject[];
}

export interface SceneOptions {
  /** Image side in pixels. Default 75 (as Santoro et al.). */
  size?: number;
  /** Objects per image. Default 6. */
  objects?: number;
  /** Place objects on a grid (cells of `size/gridCells`) or anywhere. Default 'free'. */
  layout?: 'grid' | 'free';
  /** Each object gets its own colour (Sort-of-CLEVR); otherwise colours may repeat. Default true. */
  uniqueColors?: boolean;
}

/**
 * Samples a Sort-of-CLEVR scene (Santoro et al. 2017, "A simple neural network module for
 * relational reasoning"): `objects` shapes of distinct colours, small or large, placed without
 * overlap, on a grid or freely. Deterministic for a given generator state.
 *
 * ```ts
 * const scene = sampleScene(new Generator(1), { size: 64, objects: 4 });
 * ```
 */
export function sampleScene(generator: Generator, options: SceneOptions = {}): Scene {
  const size = options.size ?? 75;
  if (!Number.isInteger(size) || size < 8)
    throw new ArgumentError('sampleScene', `size must be an integer ≥ 8 (pixels), got ${size}`);
  const count = options.objects ?? 6;
  const unique = options.uniqueColors ?? true;
  if (count < 1 || (unique && count > COLOR_NAMES.length)) {
    throw new ArgumentError(
      'sampleScene',
      `objects must be 1..${unique ? COLOR_NAMES.length : '∞'}, got ${count}`,
    );
  }
  const large = Math.max(2, Math.round(size * 0.09));
  const small = Math.max(1, Math.round(size * 0.06));
  const colors = unique ? shuffle(generator, [...COLOR_NAMES]).slice(0, count) : [];
  const objects: SceneObject[] = [];
  const cells = Math.max(2, Math.floor(size / (2 * large + 2)));
  const freeCells = shuffle(
    generator,
    Array.from({ length: cells * cells }, (_, i) => i),
  );
  if (options.layout === 'grid' && count > freeCells.length) {
    throw new ArgumentError(
      'sampleScene',
      `${count} objects do not fit a ${cells}×${cells} grid at size ${size}`,
    );
  }
  for (let k = 0; k < count; k++) {
    const sz = SIZES[generator.integer(0, 2)]!;
    const radius = sz === 'large' ? large : small;
    const shape = SHAPES[generator.integer(0, 3)]!;
    const color = unique ? colors[k]! : COLOR_NAMES[generator.integer(0, COLOR_NAMES.length)]!;
    let x = 0;
    let y = 0;
    if (options.layout === 'grid') {
      const cell = freeCells[k]!;
      const step = size / cells;
      x = Math.round((cell % cells) * step + step / 2);
      y = Math.round(Math.floor(cell / cells) * step + step / 2);
    } else {
      let placed = false;
      for (let attempt = 0; attempt < 1000 && !placed; attempt++) {
        x = generator.integer(large + 1, size - large - 1);
        y = generator.integer(large + 1, size - large - 1);
        placed = objects.every((o) => Math.hypot(o.x - x, o.y - y) > o.radius + radius + 2);
      }
      if (!placed)
        throw new ArgumentError(
          'sampleScene',
          `could not place ${count} objects without overlap in ${size}px`,
        );
    }
    objects.push({ shape, color, size: sz, x, y, radius });
  }
  return { width: size, height: size, objects };
}

function shuffle<T>(g: Generator, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = g.integer(0, i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

export type QuestionType =
  | 'shape'
  | 'size'
  | 'color'
  | 'horizontal'
  | 'vertical'
  | 'exist'
  | 'closest'
  | 'furthest'
  | 'count_shape'
  | 'count_color'
  | 'relative_position';

export interface SceneQuestion {
  question: string;
  answer: string;
  type: QuestionType;
  relational: boolean;
  /** VQA answer type. */
  answerType: 'yes/no' | 'number' | 'other';
}

/**
 * The shortest description that picks out exactly one object ("the red object", "the large red
 * object", "the red circle", …), or null when none does.
 */
export function describeObject(scene: Scene, o: SceneObject): string | null {
  const templates: ((x: SceneObject) => string)[] = [
    (x) => `${x.color} object`,
    (x) => `${x.size} ${x.color} object`,
    (x) => `${x.color} ${x.shape}`,
    (x) => `${x.size} ${x.color} ${x.shape}`,
  ];
  for (const t of templates) if (scene.objects.filter((p) => t(p) === t(o)).length === 1) return t(o);
  return null;
}

const dist = (a: SceneObject, b: SceneObject) => Math.hypot(a.x - b.x, a.y - b.y);

/** All questions the generator can ask about one referenced object (and a second for relations). */
function questionsAbout(scene: Scene, a: SceneObject, b: SceneObject | null, g: Generator): SceneQuestion[] {
  const na = describeObject(scene, a)!;
  const others = scene.objects.filter((o) => o !== a);
  const q = (type: QuestionType, question: string, answer: string, relational: boolean): SceneQuestion => ({
    question,
    answer,
    type,
    relational,
    answerType: answer === 'yes' || answer === 'no' ? 'yes/no' : /^\d+$/.test(answer) ? 'number' : 'other',
  });
  const out: SceneQuestion[] = [
    q('shape', `What shape is the ${na}?`, a.shape, false),
    q('size', `What size is the ${na}?`, a.size, false),
    q(
      'horizontal',
      `Is the ${na} on the left or right of the image?`,
      a.x < scene.width / 2 ? 'left' : 'right',
      false,
    ),
    q(
      'vertical',
      `Is the ${na} on the top or bottom of the image?`,
      a.y < scene.height / 2 ? 'top' : 'bottom',
      false,
    ),
  ];
  const shapeOnly = scene.objects.filter((o) => o.shape === a.shape && o.size === a.size);
  if (shapeOnly.length === 1) out.push(q('color', `What color is the ${a.size} ${a.shape}?`, a.color, false));
  const probeColor = COLOR_NAMES[g.integer(0, COLOR_NAMES.length)]!;
  const probeShape = SHAPES[g.integer(0, SHAPES.length)]!;
  const exists = scene.objects.some((o) => o.color === probeColor && o.shape === probeShape);
  out.push(q('exist', `Is there a ${probeColor} ${probeShape}?`, exists ? 'yes' : 'no', false));
  if (others.length > 0) {
    const byDist = [...others].sort((p, r) => dist(a, p) - dist(a, r));
    const closest = byDist[0]!;
    const furthest = byDist[byDist.length - 1]!;
    // Ties make the answer ambiguous: ask only when the nearest/farthest is strictly so.
    if (byDist.length === 1 || dist(a, byDist[1]!) > dist(a, closest)) {
      out.push(q('closest', `What shape is the object closest to the ${na}?`, closest.shape, true));
    }
    if (byDist.length === 1 || dist(a, byDist[byDist.length - 2]!) < dist(a, furthest)) {
      out.push(q('furthest', `What shape is the object furthest from the ${na}?`, furthest.shape, true));
    }
    out.push(
      q(
        'count_shape',
        `How many other objects have the same shape as the ${na}?`,
        String(others.filter((o) => o.shape === a.shape).length),
        true,
      ),
    );
    // With one colour per object (Sort-of-CLEVR's default) the answer would always be 0.
    if (new Set(scene.objects.map((o) => o.color)).size < scene.objects.length) {
      out.push(
        q(
          'count_color',
          `How many other objects have the same color as the ${na}?`,
          String(others.filter((o) => o.color === a.color).length),
          true,
        ),
      );
    }
  }
  if (b) {
    const nb = describeObject(scene, b)!;
    if (a.x !== b.x)
      out.push(
        q('relative_position', `Is the ${na} to the left of the ${nb}?`, a.x < b.x ? 'yes' : 'no', true),
      );
    if (a.y !== b.y)
      out.push(q('relative_position', `Is the ${na} above the ${nb}?`, a.y < b.y ? 'yes' : 'no', true));
  }
  return out;
}

/**
 * Draws `count` questions (half non-relational, half relational where possible) with answers and
 * types about objects the scene lets us name unambiguously.
 *
 * ```ts
 * sceneQuestions(scene, new Generator(0), 10)[0]; // { question: 'What shape is the red object?', answer: 'circle', … }
 * ```
 */
export function sceneQuestions(scene: Scene, g: Generator, count = 10): SceneQuestion[] {
  const named = scene.objects.filter((o) => describeObject(scene, o) !== null);
  if (named.length === 0) return [];
  const pools: [SceneQuestion[], SceneQuestion[]] = [[], []];
  for (const a of named) {
    const b = named.length > 1 ? named.filter((o) => o !== a)[g.integer(0, named.length - 1)]! : null;
    for (const qu of questionsAbout(scene, a, b, g)) pools[qu.relational ? 1 : 0].push(qu);
  }
  const out: SceneQuestion[] = [];
  const seen = new Set<string>();
  for (let i = 0; out.length < count && i < count * 10; i++) {
    const pool = pools[i % 2]!.length > 0 ? pools[i % 2]! : pools[(i + 1) % 2]!;
    if (pool.length === 0) break;
    const qu = pool[g.integer(0, pool.length)]!;
    if (seen.has(qu.question)) continue;
    seen.add(qu.question);
    out.push(qu);
  }
  return out;
}

/**
 * Captions like "a small red circle above a large blue square": for random pairs, the dominant
 * axis of their offset gives above/below or to the left/right of.
 */
export function sceneCaptions(scene: Scene, g: Generator, count = 3): string[] {
  const objs = scene.objects;
  const phrase = (o: SceneObject) => `${o.size} ${o.color} ${o.shape}`;
  if (objs.length === 1) return [`a ${phrase(objs[0]!)}`];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = objs[g.integer(0, objs.length)]!;
    const rest = objs.filter((o) => o !== a);
    const b = rest[g.integer(0, rest.length)]!;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const rel =
      Math.abs(dy) >= Math.abs(dx)
        ? dy > 0
          ? 'above'
          : 'below'
        : dx > 0
          ? 'to the left of'
          : 'to the right of';
    out.push(`a ${phrase(a)} ${rel} a ${phrase(b)}`);
  }
  return out;
}
