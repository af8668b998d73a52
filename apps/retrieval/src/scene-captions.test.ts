import { captionHolds, relationCaptionText } from '@polymodal/data';
import { Generator } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { drawCaptions, falseCaption, scenePairCaptions } from './scene-captions.js';
import { SCENE } from './scene-fixture.js';

describe('captions generated from a scene', () => {
  it('the clear ordered pairs, and nothing else', () => {
    expect(scenePairCaptions(SCENE).map(relationCaptionText)).toEqual([
      'a small red circle above a large blue square',
      'a small red circle to the left of a large green triangle',
      'a large blue square below a small red circle',
      'a large green triangle to the right of a small red circle',
    ]);
  });

  it('every pair caption holds for its scene', () => {
    for (const c of scenePairCaptions(SCENE)) expect(captionHolds(SCENE, c)).toBe(true);
  });

  it('false captions never hold (the diagonal pair included) and are one edit away from a pair caption', () => {
    const pool = scenePairCaptions(SCENE);
    const g = new Generator(7);
    const key = (o: { size: string; color: string; shape: string }) => `${o.size} ${o.color} ${o.shape}`;
    const seen = new Set<string>();
    for (let n = 0; n < 400; n++) {
      const c = falseCaption(SCENE, pool, g)!;
      expect(c).not.toBeNull();
      expect(captionHolds(SCENE, c)).toBe(false);
      seen.add(relationCaptionText(c));
      const oneEdit = pool.some((p) => {
        if (key(c.subject) === key(p.object) && key(c.object) === key(p.subject) && c.relation === p.relation)
          return true; // swapped
        if (c.relation !== p.relation) return false;
        const diff = (a: typeof c.subject, b: typeof c.subject) =>
          (['size', 'color', 'shape'] as const).filter((k) => a[k] !== b[k]).length;
        return diff(c.subject, p.subject) + diff(c.object, p.object) === 1;
      });
      expect(oneEdit).toBe(true);
    }
    // The swaps of the diagonal-free pairs are false; so are attribute edits: a good spread.
    expect(seen.size).toBeGreaterThan(20);
    expect(seen.has('a large blue square above a small red circle')).toBe(true);
  });

  it('gives up (null) when no edit can be false', () => {
    expect(falseCaption(SCENE, [], new Generator(1))).toBeNull();
  });

  it('draws K distinct captions, or all of a smaller pool', () => {
    const g = new Generator(3);
    const pool = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const k = drawCaptions(pool, 4, g);
    expect(new Set(k).size).toBe(4);
    expect(drawCaptions(pool.slice(0, 3), 8, g)).toEqual([0, 1, 2]);
    // Uniform: each of 10 drawn about 4/10 of the time.
    const counts = new Array(10).fill(0);
    for (let n = 0; n < 2000; n++) for (const v of drawCaptions(pool, 4, g)) counts[v]++;
    for (const c of counts) expect(Math.abs(c / 2000 - 0.4)).toBeLessThan(0.05);
  });
});
