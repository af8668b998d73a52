/**
 * The reliability catalogue (docs/reliability.md): the metrics that take user strings refuse what
 * is not a string with an ArgumentError naming the function (before: a TypeError from `replace`).
 */
import { ArgumentError, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { accuracy, perCategoryAccuracy } from './accuracy.js';
import { evaluateVqa, vqaAccuracy } from './vqa-accuracy.js';
import { normalizeVqaAnswer } from './vqa-normalize.js';

const any = <T>(v: unknown) => v as T;

describe('VQA metrics refuse what is not text', () => {
  it('normalizeVqaAnswer, vqaAccuracy and evaluateVqa', () => {
    expect(() => normalizeVqaAnswer(any(undefined))).toThrow(
      new ArgumentError('normalizeVqaAnswer', 'answer must be a string, got undefined'),
    );
    expect(() => normalizeVqaAnswer(any(null))).toThrow(/got null/);
    expect(() => vqaAccuracy(any(undefined), ['a'])).toThrow(/vqaAccuracy: prediction must be a string/);
    expect(() => evaluateVqa(any(undefined), any(undefined))).toThrow(
      new ArgumentError('evaluateVqa', 'predictions and groundTruth must be arrays'),
    );
    expect(() => evaluateVqa(['a'], [])).toThrow(/got 1 predictions for 0 questions/);
  });

  it('accuracy needs arrays: a tensor (no length) used to give NaN', () => {
    const t = tensor([1, 2]);
    expect(() => accuracy(any(t), any(t))).toThrow(
      new ArgumentError(
        'accuracy',
        'predictions must be an array or typed array (read a tensor with dataSync() or array())',
      ),
    );
    expect(() => perCategoryAccuracy(any(undefined), ['a'])).toThrow(/scores must be an array/);
    expect(() => accuracy('ab', 'ab')).toThrow(/predictions must be an array/);
    expect(accuracy(new Int32Array([1, 2]), [1, 3])).toBe(0.5);
  });
});
