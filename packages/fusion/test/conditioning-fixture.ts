/** Loads fixtures/conditioning.json (scripts/make-conditioning-fixtures.py, PyTorch 1.13). */
import { readFileSync } from 'node:fs';
import { type Tensor, tensor } from '@polymodal/tensor';

export interface Encoded {
  shape: number[];
  data: (number | boolean)[];
}
export interface ConditioningCase {
  stateDict: Record<string, Encoded>;
  image: Encoded;
  imageMask: Encoded | null;
  outputs: Record<string, Encoded>;
}
export interface ConditioningFixture {
  text: Encoded;
  textMask: Encoded;
  cases: Record<string, ConditioningCase>;
}

export const conditioningFixture = JSON.parse(
  readFileSync(new URL('../fixtures/conditioning.json', import.meta.url), 'utf8'),
) as ConditioningFixture;

export const decode = (e: Encoded): Tensor =>
  typeof e.data[0] === 'boolean'
    ? tensor(e.data as boolean[], { shape: e.shape, dtype: 'bool' })
    : tensor(Float32Array.from(e.data as number[]), { shape: e.shape });

export const decodeAll = (r: Record<string, Encoded>): Record<string, Tensor> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, decode(v)]));

/** Largest absolute difference between a tensor and a fixture tensor of the same shape. */
export function worstDiff(got: Tensor, want: Encoded): number {
  const g = got.dataSync();
  return (want.data as number[]).reduce((w, v, i) => Math.max(w, Math.abs(v - g[i]!)), 0);
}

/** Largest absolute difference between two tensors of the same shape. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  const y = b.dataSync();
  return Array.from(a.dataSync()).reduce((w, v, i) => Math.max(w, Math.abs(v - y[i]!)), 0);
}
