import { describe, expect, it } from 'vitest';
import { scenePairCaptions } from './scene-captions.js';
import { SCENE } from './scene-fixture.js';
import {
  CELL_CLASSES,
  COLOR_CLASSES,
  captionReadoutTarget,
  cellKinds,
  IGNORE,
  imageReadoutTarget,
  SHAPE_CLASSES,
  SIZE_CLASSES,
  TEXT_READOUT_SLICES,
  TEXT_READOUT_WIDTH,
} from './scene-targets.js';

describe('auxiliary targets of a known scene (hand-computed, the twin’s class orders)', () => {
  it('class orders are the twin’s (sorted names)', () => {
    expect(SIZE_CLASSES).toEqual(['large', 'small']);
    expect(COLOR_CLASSES).toEqual(['blue', 'gray', 'green', 'orange', 'red', 'yellow']);
    expect(SHAPE_CLASSES).toEqual(['circle', 'square', 'triangle']);
    expect(CELL_CLASSES).toBe(37);
    expect(TEXT_READOUT_WIDTH).toBe(26);
    expect(TEXT_READOUT_SLICES).toEqual([
      [0, 2],
      [2, 8],
      [8, 11],
      [22, 26],
      [11, 13],
      [13, 19],
      [19, 22],
    ]);
  });

  it('per-cell kind on the 6 × 6 grid', () => {
    const k = cellKinds(SCENE, 6);
    const expected = new Int32Array(36);
    // A (10, 10) → cell (1, 1): 1 + small 1·18 + red 4·3 + circle 0 = 31
    expected[1 * 6 + 1] = 31;
    // B (12, 40) → row ⌊40·6/48⌋ = 5, column 1: 1 + large 0 + blue 0 + square 1 = 2
    expected[5 * 6 + 1] = 2;
    // C (40, 12) → row 1, column 5: 1 + 0 + green 2·3 + triangle 2 = 9
    expected[1 * 6 + 5] = 9;
    expect(Array.from(k)).toEqual(Array.from(expected));
  });

  it('image read-out: per colour present, size, shape, x/y in [−1, 1]', () => {
    const t = imageReadoutTarget(SCENE);
    expect(Array.from(t.present)).toEqual([1, 0, 1, 0, 1, 0]);
    expect(Array.from(t.size)).toEqual([0, IGNORE, 0, IGNORE, 1, IGNORE]);
    expect(Array.from(t.shape)).toEqual([1, IGNORE, 2, IGNORE, 0, IGNORE]);
    const v = (p: number) => (p / 47) * 2 - 1;
    const xy = [v(12), v(40), 0, 0, v(40), v(12), 0, 0, v(10), v(10), 0, 0];
    Array.from(t.xy).forEach((x, i) => expect(x).toBeCloseTo(xy[i]!, 6));
  });

  it('caption read-out: subject size/colour/shape, relation, object size/colour/shape', () => {
    const [aboveB, leftOfC, belowA, rightOfA] = scenePairCaptions(SCENE);
    expect(captionReadoutTarget(aboveB!)).toEqual([1, 4, 0, 0, 0, 0, 1]);
    expect(captionReadoutTarget(leftOfC!)).toEqual([1, 4, 0, 2, 0, 2, 2]);
    expect(captionReadoutTarget(belowA!)).toEqual([0, 0, 1, 1, 1, 4, 0]);
    expect(captionReadoutTarget(rightOfA!)).toEqual([0, 2, 2, 3, 1, 4, 0]);
  });
});
