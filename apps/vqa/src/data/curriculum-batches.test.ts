import { Generator } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { parseCurriculum } from '../commands.js';
import { ImageGroupedBatches, type VqaBatch } from './batches.js';
import { CurriculumBatches, splitOfTypes } from './curriculum-batches.js';
import type { VqaExample, VqaSplit } from './dataset.js';

const TYPES = ['shape', 'horizontal', 'closest', 'count_shape'];

/** 12 images of 2×2 pixels, 4 questions each (one of each type), every question id unique. */
function split(): VqaSplit {
  const examples: VqaExample[] = [];
  for (let i = 0; i < 12; i++)
    for (const [k, type] of TYPES.entries())
      examples.push({
        questionId: 10 * i + k,
        imageIndex: i,
        question: `q${i}-${type}`,
        inputIds: [2, 5 + k, 3],
        label: k,
        answers: [String(k)],
        questionType: type,
        answerType: 'other',
      });
  return {
    source: { root: 'memory', split: 'train' },
    images: Array.from({ length: 12 }, (_, i) => ({
      width: 2,
      height: 2,
      chw: new Float32Array(12).fill(i),
    })),
    imagePaths: Array.from({ length: 12 }, (_, i) => `${i}.png`),
    examples,
    captions: [],
  };
}

const make = (steps: number) => {
  const s = split();
  const options = { imagesPerBatch: 3, questionsPerImage: 2, padId: 0 };
  return new CurriculumBatches(
    new ImageGroupedBatches(splitOfTypes(s, ['shape', 'horizontal']), {
      ...options,
      generator: new Generator(7),
    }),
    new ImageGroupedBatches(s, { ...options, generator: new Generator(3) }),
    steps,
  );
};

/** The question ids of the next `n` batches (a pass continues into the next when one ends). */
function take(source: CurriculumBatches, n: number): number[][] {
  const out: number[][] = [];
  while (out.length < n)
    for (const b of source as Iterable<VqaBatch>) {
      out.push(b.examples.map((e) => e.questionId));
      for (const t of [b.pixelValues, b.imageIndex, b.inputIds, b.mask, b.labels]) t.dispose();
      if (out.length === n) break;
    }
  return out;
}

const typeOf = (id: number) => TYPES[id % 10]!;

describe('CurriculumBatches', () => {
  it('the first `steps` batches ask only the curriculum types, across its epochs; then every type', () => {
    // 12 images / 3 per batch: 4 batches per epoch of either stream, so 6 curriculum batches span two.
    const ids = take(make(6), 14);
    const types = ids.map((b) => new Set(b.map(typeOf)));
    for (const t of types.slice(0, 6))
      expect([...t].every((x) => x === 'shape' || x === 'horizontal')).toBe(true);
    const later = new Set(types.slice(6).flatMap((t) => [...t]));
    expect(later.has('closest') || later.has('count_shape')).toBe(true);
    // The second pass over the curriculum stream is a new epoch, not a repeat of the first.
    expect(ids[4]).not.toEqual(ids[0]);
  });

  it.each([3, 9])('resumes exactly from a state saved after %i batches (either phase)', (k) => {
    const a = make(6);
    const all = take(a, 14);
    const b = make(6);
    take(b, k);
    const state = JSON.parse(JSON.stringify(b.stateDict()));
    const c = make(6);
    c.loadStateDict(state);
    expect(take(c, 14 - k)).toEqual(all.slice(k));
  });

  it('refuses unknown question types (naming the split’s types) and bad step counts', () => {
    expect(() => splitOfTypes(split(), ['shape', 'colour'])).toThrow(
      /question type 'colour' not in the training split; its types: closest, count_shape, horizontal, shape/,
    );
    expect(() => make(-1)).toThrow(/steps must be an integer ≥ 0, got -1/);
  });
});

describe('parseCurriculum (--curriculum)', () => {
  it("reads 'types:steps' and 'none'; refuses the rest with the expected form", () => {
    expect(parseCurriculum('horizontal, vertical:300', 1300)).toEqual({
      questionTypes: ['horizontal', 'vertical'],
      steps: 300,
    });
    expect(parseCurriculum('none', 1300)).toBeNull();
    for (const bad of ['horizontal', ':300', 'horizontal:x', 'horizontal:-2', 'horizontal:1.5'])
      expect(() => parseCurriculum(bad, 1300), bad).toThrow(/--curriculum must be 'type,type,…:steps'/);
    expect(() => parseCurriculum('horizontal:1300', 1300)).toThrow(/would be the whole run \(--steps 1300\)/);
  });
});
