/**
 * The `wasm` backend's SIMD Add, Sub and Mul against the cpu backend. A single float32 add, subtract
 * or multiply is correctly rounded both in WebAssembly and in JS (float64 then rounded to float32:
 * 53 ≥ 2·24 + 2 bits, so the double rounding is exact), so results must be bit-identical.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/backends/wasm/wasm-backend.js';
import * as T from '../src/index.js';

afterAll(() => T.setBackend('cpu'));

const CASES: [name: string, a: number[], b: number[]][] = [
  ['same shape', [37, 129], [37, 129]],
  ['row broadcast (bias)', [64, 1027], [1027]],
  ['column broadcast', [130, 257], [130, 1]],
  ['left operand broadcast', [1, 515], [9, 515]],
  ['both broadcast (outer product)', [67, 1], [1, 33]],
  ['scalar tensor', [], [41, 53]],
  ['middle-axis broadcast', [4, 1, 301], [4, 5, 301]],
  ['short runs (JS fallback)', [1000, 3], [3]],
];

describe('wasm Add/Sub/Mul', () => {
  for (const [name, aShape, bShape] of CASES) {
    it(`${name}: ${JSON.stringify(aShape)} op ${JSON.stringify(bShape)} is bit-identical to cpu`, () => {
      T.setBackend('cpu');
      const a = T.randn(aShape, { seed: 1 });
      const b = T.randn(bShape, { seed: 2 });
      for (const op of ['add', 'sub', 'mul'] as const) {
        T.setBackend('cpu');
        const ref = a[op](b);
        const want = ref.dataSync();
        T.setBackend('wasm');
        const out = a[op](b);
        const got = out.dataSync();
        expect(out.shape).toEqual(ref.shape);
        expect(got.length).toBe(want.length);
        expect(new Uint32Array(got.buffer, got.byteOffset, got.length)).toEqual(
          new Uint32Array(want.buffer, want.byteOffset, want.length),
        );
      }
    });
  }

  it('computes the values themselves (hand-checked 2×1024 + row)', () => {
    const backend = new WasmBackend('wasm-binary-test', 1);
    const a = Float32Array.from({ length: 2048 }, (_, i) => i);
    const b = Float32Array.from({ length: 1024 }, (_, j) => -j + 0.5);
    const sum = backend.binary('add', a, [2, 1024], b, [1024])!;
    // (i·1024 + j) + (−j + 0.5) = 1024·i + 0.5
    expect(sum[5]).toBe(0.5);
    expect(sum[1024 + 1023]).toBe(1024.5);
    const prod = backend.binary('mul', b, [1024], a, [2, 1024])!;
    expect(prod[1024 + 3]).toBe((-3 + 0.5) * 1027);
    expect(backend.binary('sub', a, [2, 1024], b, [1024])![2047]).toBe(2047 - (-1023 + 0.5));
  });

  it('declines small and short-run problems (the JS kernel runs them)', () => {
    const backend = new WasmBackend('wasm-binary-test-2', 1);
    expect(backend.binary('add', new Float32Array(8), [8], new Float32Array(8), [8])).toBeNull();
    expect(backend.binary('add', new Float32Array(3000), [1000, 3], new Float32Array(3), [3])).toBeNull();
  });

  it('keeps gradients through broadcasting ops equal to cpu', () => {
    const grads: number[][] = [];
    for (const name of ['cpu', 'wasm']) {
      T.setBackend(name);
      const x = T.randn([40, 64], { seed: 3, requiresGrad: true });
      const w = T.randn([64], { seed: 4, requiresGrad: true });
      T.scope(() => x.mul(w).add(w).sub(x).tanh().mean().backward());
      grads.push([...x.grad!.dataSync(), ...w.grad!.dataSync()]);
    }
    T.setBackend('cpu');
    grads[1]!.forEach((g, i) => expect(g).toBeCloseTo(grads[0]![i]!, 6));
  });
  it("relu backward (a SIMD mask) gives the cpu kernel's values, specials included", () => {
    const special = [0, -0, Number.NaN, 1e-40, -1e-40, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3];
    const grads: number[][] = [];
    for (const name of ['cpu', 'wasm']) {
      T.setBackend(name);
      const x = T.cat([T.randn([4096], { seed: 5 }), T.tensor(special)]).requiresGrad_();
      const dy = T.randn([4096 + special.length], { seed: 6 });
      T.scope(() => x.relu().mul(dy).sum().backward());
      grads.push(Array.from(x.grad!.dataSync()));
    }
    T.setBackend('cpu');
    expect(grads[1]).toEqual(grads[0]);
    expect(grads[0]!.filter((g) => g === 0).length).toBeGreaterThan(1000); // the mask did zero half
  });
});
