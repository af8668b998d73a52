import { ArgumentError } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { accuracy, perCategoryAccuracy } from './accuracy.js';

describe('accuracy', () => {
  it('counts exact matches', () => {
    expect(accuracy([1, 2, 3, 4], [1, 2, 0, 4])).toBe(0.75);
    expect(accuracy(['yes', 'no'], ['yes', 'yes'])).toBe(0.5);
    expect(accuracy(new Int32Array([0, 0]), new Int32Array([1, 1]))).toBe(0);
  });
  it('rejects mismatched or empty input', () => {
    expect(() => accuracy([1], [1, 2])).toThrow(ArgumentError);
    expect(() => accuracy([], [])).toThrow(/empty/);
  });
});

describe('perCategoryAccuracy', () => {
  it('averages scores within each category in first-seen order', () => {
    const r = perCategoryAccuracy([1, 0, 0.6, 0.3], ['yes/no', 'yes/no', 'number', 'number']);
    expect(Object.keys(r)).toEqual(['yes/no', 'number']);
    expect(r['yes/no']).toEqual({ accuracy: 0.5, count: 2 });
    expect(r.number!.accuracy).toBeCloseTo(0.45, 12);
    expect(r.number!.count).toBe(2);
  });
  it('handles category names that collide with Object.prototype', () => {
    expect(perCategoryAccuracy([1], ['constructor']).constructor).toEqual({ accuracy: 1, count: 1 });
  });
  it('rejects bad input', () => {
    expect(() => perCategoryAccuracy([1], [])).toThrow(ArgumentError);
    expect(() => perCategoryAccuracy([Number.NaN], ['a'])).toThrow(/not finite/);
  });
});
