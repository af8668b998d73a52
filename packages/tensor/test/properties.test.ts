/** Property tests (fast-check): broadcasting, shape round-trips and reductions against plain loops. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

T.setBackend('cpu');

const dims = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 });
const seed = fc.integer({ min: 0, max: 1e6 });

/** Plain-loop value at a multi-index under NumPy broadcasting, the independent reference. */
function at(values: ArrayLike<number>, shape: readonly number[], index: readonly number[]): number {
  let off = 0;
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const i = index[index.length - shape.length + d]!;
    off += (shape[d] === 1 ? 0 : i) * stride;
    stride *= shape[d]!;
  }
  return values[off]!;
}

function* indices(shape: readonly number[]): Generator<number[]> {
  const idx = shape.map(() => 0);
  const total = shape.reduce((a, b) => a * b, 1);
  for (let n = 0; n < total; n++) {
    yield [...idx];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

describe('properties', () => {
  it('broadcast add equals the elementwise definition', () => {
    fc.assert(
      fc.property(
        dims,
        fc.array(fc.boolean(), { maxLength: 4 }),
        fc.integer({ min: 0, max: 4 }),
        seed,
        (shape, ones, drop, s) => {
          // b: a suffix of shape with some dims set to 1 — always broadcastable.
          const bShape = shape.slice(Math.min(drop, shape.length)).map((d, i) => (ones[i] ? 1 : d));
          T.scope(() => {
            const a = T.randn(shape, { seed: s });
            const b = T.randn(bShape, { seed: s + 1 });
            const out = T.add(a, b);
            expect(out.shape).toEqual(shape);
            const av = a.dataSync();
            const bv = b.dataSync();
            const ov = out.dataSync();
            let k = 0;
            for (const idx of indices(shape)) {
              expect(ov[k++]).toBeCloseTo(at(av, shape, idx) + at(bv, bShape, idx), 5);
            }
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('permute then inverse permute, reshape then reshape back, are identities', () => {
    fc.assert(
      fc.property(
        dims.filter((d) => d.length > 0),
        seed,
        (shape, s) => {
          T.scope(() => {
            const x = T.randn(shape, { seed: s });
            const perm = shape.map((_, i) => i).sort(() => 0.5 - new T.Generator(s).uniform());
            const inverse = perm.map((_, i) => perm.indexOf(i));
            expect(Array.from(x.permute(perm).permute(inverse).dataSync())).toEqual(Array.from(x.dataSync()));
            expect(Array.from(x.reshape(-1).reshape(shape).dataSync())).toEqual(Array.from(x.dataSync()));
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('slicing a dim into pieces and concatenating them restores the tensor', () => {
    fc.assert(
      fc.property(
        dims.filter((d) => d.length > 0),
        fc.nat(),
        fc.nat(),
        seed,
        (shape, axisSeed, cutSeed, s) => {
          T.scope(() => {
            const x = T.randn(shape, { seed: s });
            const axis = axisSeed % shape.length;
            const cut = cutSeed % (shape[axis]! + 1);
            const back = T.cat(
              [x.slice(axis, 0, cut), x.slice(axis, cut)].filter((p) => p.size > 0 || shape[axis] === 0),
              axis,
            );
            expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('sum over any axes equals the plain-loop sum, and summing in two steps agrees', () => {
    fc.assert(
      fc.property(
        dims.filter((d) => d.length > 0),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        seed,
        (shape, pick, s) => {
          const axes = shape.map((_, i) => i).filter((i) => pick[i]);
          T.scope(() => {
            const x = T.randn(shape, { seed: s });
            const out = x.sum(axes, true);
            const xv = x.dataSync();
            const expected = new Float64Array(out.size);
            const outShape = out.shape;
            let k = 0;
            for (const idx of indices(shape)) {
              const o = idx.map((v, d) => (axes.includes(d) ? 0 : v));
              let off = 0;
              for (let d = 0; d < o.length; d++) off = off * outShape[d]! + o[d]!;
              expected[off]! += xv[k++]!;
            }
            Array.from(out.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
            expect(x.sum().item()).toBeCloseTo(out.sum().item(), 3);
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});
