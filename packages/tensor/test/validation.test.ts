import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

// Each helper throws one error class for one kind of failure, and its message names the op, the
// argument and the value it got (PolymodalError prefixes `op: `).
describe('validation helpers', () => {
  it('assertTensor: ArgumentError naming what it got', () => {
    const x = T.zeros([2]);
    expect(() => T.assertTensor('linear', 'input', x)).not.toThrow();
    for (const [value, got] of [
      [3, 'number'],
      [null, 'null'],
      [undefined, 'undefined'],
      [[1, 2], 'object'],
      ['x', 'string'],
    ] as const) {
      expect(() => T.assertTensor('linear', 'input', value)).toThrow(
        new T.ArgumentError('linear', `input must be a Tensor, got ${got}`),
      );
    }
    // The class, not only the message: catchable as ArgumentError and as PolymodalError, not as DTypeError.
    const err = (() => {
      try {
        T.assertTensor('op', 'x', 1);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(T.ArgumentError);
    expect(err).toBeInstanceOf(T.PolymodalError);
    expect(err).not.toBeInstanceOf(T.DTypeError);
    expect((err as T.ArgumentError).op).toBe('op');
  });

  it('assertDType: DTypeError listing every accepted dtype', () => {
    const i = T.tensor(new Int32Array([1]));
    expect(() => T.assertDType('gather', 'index', i, 'int32')).not.toThrow();
    expect(() => T.assertDType('where', 'condition', i, 'bool', 'int32')).not.toThrow();
    expect(() => T.assertDType('gather', 'index', T.zeros([1]), 'int32')).toThrow(
      new T.DTypeError('gather', 'index must be int32, got float32'),
    );
    expect(() => T.assertDType('where', 'condition', T.zeros([1]), 'bool', 'int32')).toThrow(
      new T.DTypeError('where', 'condition must be bool or int32, got float32'),
    );
    expect(() => T.assertDType('gather', 'index', T.zeros([1]), 'int32')).toThrow(T.DTypeError);
  });

  it('assertShape: ShapeError; null accepts any size, the rank must match', () => {
    const t = T.zeros([4, 2]);
    expect(() => T.assertShape('itm', 'logits', t, [null, 2])).not.toThrow();
    expect(() => T.assertShape('itm', 'logits', t, [4, 2])).not.toThrow();
    expect(() => T.assertShape('itm', 'logits', t, [null, 3])).toThrow(
      new T.ShapeError('itm', 'logits must be [*,3], got [4,2]'),
    );
    expect(() => T.assertShape('itm', 'logits', t, [null])).toThrow(
      new T.ShapeError('itm', 'logits must be [*], got [4,2]'),
    );
    expect(() => T.assertShape('itm', 'logits', T.zeros([4, 2, 1]), [null, 2])).toThrow(T.ShapeError);
    expect(() => T.assertShape('itm', 'logits', T.zeros([8]), [null, 2], '[batch, 2]')).toThrow(
      new T.ShapeError('itm', 'logits must be [batch, 2], got [8]'),
    );
  });

  it('checkPositiveInt: returns the value, else ArgumentError naming it', () => {
    expect(T.checkPositiveInt('Linear', 'inFeatures', 1)).toBe(1);
    expect(T.checkPositiveInt('Linear', 'inFeatures', 4096)).toBe(4096);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3' as unknown as number]) {
      expect(() => T.checkPositiveInt('Linear', 'inFeatures', bad)).toThrow(
        new T.ArgumentError('Linear', `inFeatures must be a positive integer, got ${bad}`),
      );
    }
  });

  it('checkInRange: returns the value; ends included per bounds; NaN and non-numbers refused', () => {
    expect(T.checkInRange('Dropout', 'p', 0, 0, 1)).toBe(0);
    expect(T.checkInRange('Dropout', 'p', 1, 0, 1)).toBe(1);
    expect(T.checkInRange('Dropout', 'p', 0.25, 0, 1)).toBe(0.25);
    expect(() => T.checkInRange('Dropout', 'p', 1.5, 0, 1)).toThrow(
      new T.ArgumentError('Dropout', 'p must be in [0, 1], got 1.5'),
    );
    expect(() => T.checkInRange('Dropout', 'p', -0.1, 0, 1)).toThrow(
      /Dropout: p must be in \[0, 1\], got -0.1/,
    );
    expect(() => T.checkInRange('Dropout', 'p', Number.NaN, 0, 1)).toThrow(/got NaN/);
    expect(() => T.checkInRange('Dropout', 'p', '0.5' as unknown as number, 0, 1)).toThrow(T.ArgumentError);
    // Open ends.
    expect(T.checkInRange('attention', 'dropout', 0, 0, 1, '[)')).toBe(0);
    expect(() => T.checkInRange('attention', 'dropout', 1, 0, 1, '[)')).toThrow(
      new T.ArgumentError('attention', 'dropout must be in [0, 1), got 1'),
    );
    expect(() => T.checkInRange('Adam', 'eps', 0, 0, 1, '(]')).toThrow(/eps must be in \(0, 1\], got 0/);
    expect(T.checkInRange('Adam', 'eps', 1, 0, 1, '(]')).toBe(1);
    expect(() => T.checkInRange('Adam', 'beta', 1, 0, 1, '()')).toThrow(/beta must be in \(0, 1\), got 1/);
    expect(() => T.checkInRange('Adam', 'beta', 0, 0, 1, '()')).toThrow(T.ArgumentError);
    expect(T.checkInRange('Adam', 'beta', 0.9, 0, 1, '()')).toBe(0.9);
  });

  it('ops use them: a non-tensor operand is an ArgumentError naming the op', () => {
    expect(() => T.matmul(3 as unknown as T.Tensor, T.zeros([2, 2]))).toThrow(T.ArgumentError);
    expect(() => T.relu(null as unknown as T.Tensor)).toThrow(/relu: .* must be a Tensor, got null/);
  });
});
