/**
 * The `wasm` backend's SIMD Exp, Sigmoid, Tanh and Relu against JavaScript's float64 Math functions
 * (the reference values), over a dense grid, every branch and range edge of the approximations,
 * special values and lengths that are not a multiple of the vector width.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/backends/wasm/wasm-backend.js';
import * as T from '../src/index.js';
import { firstBitDifference } from './bit-compare.js';

// Worker threads run in Node; on a browser main thread the backend is single-threaded by design.
const IN_NODE = typeof window === 'undefined';

afterAll(() => T.setBackend('cpu'));

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const REFERENCE = {
  exp: Math.exp,
  sigmoid,
  tanh: Math.tanh,
  relu: (x: number) => Math.max(x, 0),
} as const;

/** A grid from -110 to 110 plus the edges: exp's overflow (88.72) and underflow (−87.3, −103.9) limits, tanh's 0.625 switch. */
function inputs(): Float32Array {
  const values: number[] = [0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 0.625, -0.625, 0.62499, 0.62501];
  for (let x = -110; x <= 110; x += 0.0137) values.push(x);
  for (let x = -1; x <= 1; x += 0.001) values.push(x);
  for (const edge of [88.3762626647949, 88.72283, 88.72284, 88.73, -87.33654, -87.5, -103.2, -103.97, -104.5])
    values.push(edge, Math.fround(edge + 1e-4), Math.fround(edge - 1e-4));
  return Float32Array.from(values);
}

/** Allowed error: 4 float32 ulps of the correctly rounded value, or the smallest denormal in absolute terms. */
function withinUlps(got: number, want: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  const f = Math.fround(want);
  if (!Number.isFinite(f)) return got === f || Math.abs(got) > 3.4e38;
  const ulp = Math.max(2 ** -149, 2 ** (Math.floor(Math.log2(Math.abs(f) || 2 ** -149)) - 23));
  return Math.abs(got - want) <= 4 * ulp;
}

describe('wasm unary kernels', () => {
  const backend = new WasmBackend('wasm-unary-test', 1);

  for (const op of ['exp', 'sigmoid', 'tanh', 'relu'] as const) {
    it(`${op} is within 4 ulps of Math (float64) over the grid and edges`, () => {
      const x = inputs();
      const got = backend.unary(op, x)!;
      expect(got.length).toBe(x.length);
      for (let i = 0; i < x.length; i++) {
        const want = REFERENCE[op](x[i]!);
        if (!withinUlps(got[i]!, want)) expect.fail(`${op}(${x[i]}) = ${got[i]}, Math gives ${want}`);
      }
    });

    it(`${op} handles NaN, ±Infinity and ±0 like the JS kernel`, () => {
      const x = Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0]);
      const got = Array.from(backend.unary(op, x)!);
      const want = Array.from(x, (v) => Math.fround(REFERENCE[op](v)));
      expect(got).toEqual(want); // toEqual tells -0 from +0 and matches NaN with NaN
    });
  }

  it('handles every length modulo the vector width, leaving no stale values', () => {
    for (let n = 0; n <= 9; n++) {
      const x = Float32Array.from({ length: n }, (_, i) => i - 4);
      const got = Array.from(backend.unary('relu', x)!);
      expect(got).toEqual(Array.from(x, (v) => Math.max(v, 0)));
    }
  });

  it('the ulp check rejects a value one part in 10⁵ off (it can fail)', () => {
    expect(withinUlps(Math.exp(1), Math.exp(1))).toBe(true);
    expect(withinUlps(Math.fround(Math.exp(1) * (1 + 1e-5)), Math.exp(1))).toBe(false);
  });

  it.runIf(IN_NODE)('splits large inputs over the worker pool with bit-identical results', async () => {
    const threaded = new WasmBackend('wasm-unary-threads', 3);
    try {
      await threaded.warmUp();
      const g = new T.Generator(11);
      const x = Float32Array.from({ length: 5 * 65536 + 3 }, () => 4 * g.normal());
      for (const op of ['exp', 'sigmoid', 'tanh', 'relu'] as const) {
        const want = backend.unary(op, x)!;
        const before = threaded.tasksOnWorkers;
        let got = threaded.unary(op, x)!;
        // A fast op can finish on the calling thread before a worker is scheduled (CI runs every
        // suite at once on two cores): retry, yielding so the workers get a turn, for up to ~10 s.
        for (let rep = 0; rep < 400 && threaded.tasksOnWorkers === before; rep++) {
          await new Promise((resolve) => setTimeout(resolve, 25));
          got = threaded.unary(op, x)!;
        }
        expect(threaded.tasksOnWorkers, op).toBeGreaterThan(before);
        expect(firstBitDifference(got, want), op).toBe(-1);
      }
    } finally {
      threaded.destroy();
    }
  });

  it('runs through the ops and autograd on the wasm backend', () => {
    const grads: number[][] = [];
    for (const name of ['cpu', 'wasm']) {
      T.setBackend(name);
      const x = T.randn([7, 5], { seed: 3, requiresGrad: true });
      T.scope(() => x.exp().add(x.sigmoid()).add(x.tanh()).add(x.relu()).mean().backward());
      grads.push(Array.from(x.grad!.dataSync()));
    }
    T.setBackend('cpu');
    grads[1]!.forEach((g, i) => expect(g).toBeCloseTo(grads[0]![i]!, 5));
  });
});
