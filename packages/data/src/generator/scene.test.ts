import { Generator } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { describeObject, type Scene, sampleScene, sceneCaptions, sceneQuestions } from './scene.js';

/** A hand-placed scene (y grows downwards):
 *  red small circle (10,10) · blue large square (50,12) · green small triangle (12,48) · gray large circle (52,54). */
const scene: Scene = {
  width: 64,
  height: 64,
  objects: [
    { shape: 'circle', color: 'red', size: 'small', x: 10, y: 10, radius: 4 },
    { shape: 'square', color: 'blue', size: 'large', x: 50, y: 12, radius: 6 },
    { shape: 'triangle', color: 'green', size: 'small', x: 12, y: 48, radius: 4 },
    { shape: 'circle', color: 'gray', size: 'large', x: 52, y: 54, radius: 6 },
  ],
};

describe('sampleScene', () => {
  it('is deterministic, non-overlapping and uses distinct colours', () => {
    for (let seed = 0; seed < 20; seed++) {
      const a = sampleScene(new Generator(seed), { size: 48, objects: 6 });
      expect(a).toEqual(sampleScene(new Generator(seed), { size: 48, objects: 6 }));
      expect(new Set(a.objects.map((o) => o.color)).size).toBe(6);
      for (const [i, o] of a.objects.entries()) {
        expect(o.x - o.radius).toBeGreaterThanOrEqual(0);
        expect(o.y + o.radius).toBeLessThanOrEqual(48);
        for (const p of a.objects.slice(i + 1))
          expect(Math.hypot(o.x - p.x, o.y - p.y)).toBeGreaterThan(o.radius + p.radius);
      }
    }
    const grid = sampleScene(new Generator(3), { size: 64, objects: 4, layout: 'grid' });
    expect(new Set(grid.objects.map((o) => `${o.x},${o.y}`)).size).toBe(4);
    expect(() => sampleScene(new Generator(0), { objects: 7 })).toThrow(/objects must be 1\.\.6/);
  });
});

describe('questions and captions', () => {
  it('answers every question type correctly on a hand-placed scene', () => {
    const qs = sceneQuestions(scene, new Generator(0), 200);
    const answer = (q: string) => qs.find((x) => x.question === q)?.answer;
    expect(answer('What shape is the red object?')).toBe('circle');
    expect(answer('What size is the blue object?')).toBe('large');
    expect(answer('Is the green object on the left or right of the image?')).toBe('left');
    expect(answer('Is the blue object on the top or bottom of the image?')).toBe('top');
    expect(answer('What color is the small triangle?')).toBe('green');
    // Closest to red (10,10): green at √1448 ≈ 38.05 < blue at √1604 ≈ 40.05 → triangle;
    // furthest: gray at √3700 ≈ 60.8 → circle.
    expect(answer('What shape is the object closest to the red object?')).toBe('triangle');
    expect(answer('What shape is the object furthest from the red object?')).toBe('circle');
    expect(answer('How many other objects have the same shape as the red object?')).toBe('1');
    // All colours differ, so the always-0 colour count is not asked.
    expect(qs.some((q) => q.type === 'count_color')).toBe(false);
    const types = new Set(qs.map((q) => q.type));
    for (const t of [
      'shape',
      'size',
      'horizontal',
      'vertical',
      'exist',
      'closest',
      'furthest',
      'count_shape',
      'relative_position',
    ]) {
      expect(types.has(t as never)).toBe(true);
    }
    for (const q of qs) {
      if (q.type === 'relative_position') {
        const m = /^Is the (\w+) object (to the left of|above) the (\w+) object\?$/.exec(q.question)!;
        const a = scene.objects.find((o) => o.color === m[1])!;
        const b = scene.objects.find((o) => o.color === m[3])!;
        expect(q.answer).toBe((m[2] === 'above' ? a.y < b.y : a.x < b.x) ? 'yes' : 'no');
      }
      if (q.type === 'exist') {
        const m = /^Is there a (\w+) (\w+)\?$/.exec(q.question)!;
        expect(q.answer).toBe(scene.objects.some((o) => o.color === m[1] && o.shape === m[2]) ? 'yes' : 'no');
      }
      expect(q.relational).toBe(
        ['closest', 'furthest', 'count_shape', 'count_color', 'relative_position'].includes(q.type),
      );
    }
  });

  it('names objects by the shortest unique description', () => {
    const twoReds: Scene = {
      ...scene,
      objects: [
        scene.objects[0]!,
        { ...scene.objects[1]!, color: 'red' },
        { ...scene.objects[2]!, color: 'red', size: 'large' },
        { ...scene.objects[3]!, color: 'red', shape: 'triangle' },
      ],
    };
    // Only one small red thing; one red square; two identical large red triangles: unnameable.
    expect(describeObject(twoReds, twoReds.objects[0]!)).toBe('small red object');
    expect(describeObject(twoReds, twoReds.objects[1]!)).toBe('red square');
    expect(describeObject(twoReds, twoReds.objects[2]!)).toBe(null);
    expect(describeObject(twoReds, twoReds.objects[3]!)).toBe(null);
    // Repeated colours make the colour count informative: red circle (small, unique) has 3 other reds.
    const countColor = sceneQuestions(twoReds, new Generator(0), 100).find(
      (q) => q.question === 'How many other objects have the same color as the small red object?',
    );
    expect(countColor?.answer).toBe('3');
    expect(
      sceneQuestions(twoReds, new Generator(0), 50).some(
        (q) => q.type !== 'exist' && q.question.includes('triangle'),
      ),
    ).toBe(false);
  });

  it('captions use the dominant axis for the relation', () => {
    const caps = sceneCaptions(scene, new Generator(1), 30);
    expect(caps).toContain('a small red circle above a small green triangle');
    expect(
      caps.every((c) => /^a (small|large) \w+ \w+ (above|below|to the left of|to the right of) a /.test(c)),
    ).toBe(true);
    expect(caps).not.toContain('a small red circle below a small green triangle');
  });
});
