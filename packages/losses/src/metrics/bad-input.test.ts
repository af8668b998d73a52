/**
 * The reliability catalogue (docs/reliability.md): the metrics that take user strings refuse what
 * is not a string with an ArgumentError naming the function (before: a TypeError from `replace`).
 */
import { ArgumentError } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
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
});
