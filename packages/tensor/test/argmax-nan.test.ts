import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

afterAll(() => T.setBackend('cpu'));

// Expected indices from NumPy 1.24 and PyTorch 1.13 (the same for both):
//   x = [[1, nan, 3, nan], [nan, 2, 0, 5], [4, 3, 2, 1]]
//   x.argmax(1) = [1 0 0], x.argmin(1) = [1 0 3], x.argmax(0) = [1 0 0 0], x.argmin(0) = [1 0 1 0],
//   x.argmax() = x.argmin() = 1; np.argmax([1, nan, 3]) = 1.
describe('argmax and argmin propagate NaN as PyTorch and NumPy do', () => {
  for (const backend of ['cpu', 'wasm', 'wasm-1t']) {
    it(`on ${backend}`, () => {
      T.setBackend(backend);
      const x = T.tensor([
        [1, Number.NaN, 3, Number.NaN],
        [Number.NaN, 2, 0, 5],
        [4, 3, 2, 1],
      ]);
      const read = (t: T.Tensor) => Array.from(t.dataSync());
      expect(read(T.tensor([1, Number.NaN, 3]).argmax())).toEqual([1]);
      expect(read(x.argmax(1))).toEqual([1, 0, 0]);
      expect(read(x.argmin(1))).toEqual([1, 0, 3]);
      expect(read(x.argmax(0))).toEqual([1, 0, 0, 0]);
      expect(read(x.argmin(0))).toEqual([1, 0, 1, 0]);
      expect(read(x.argmax())).toEqual([1]);
      expect(read(x.argmin())).toEqual([1]);
      // Without NaN, ties still go to the first index.
      expect(read(T.tensor([2, 5, 5, 1]).argmax())).toEqual([1]);
    });
  }
});
