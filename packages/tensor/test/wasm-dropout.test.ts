/**
 * Fused dropout (the `Dropout` kernel on cpu and wasm) against the composed form (the mask drawn on
 * the host by `Generator.fillUniform`, then a multiply): the same values, gradients and generator
 * state afterwards; the wasm kernel's chunks jump the PCG stream ahead, so one thread and the pool
 * give the same bits; `Generator.advance` against drawing one by one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/backends/wasm/wasm-backend.js';
import * as T from '../src/index.js';
import { firstBitDifference } from './bit-compare.js';

const IN_NODE = typeof window === 'undefined';

afterAll(() => T.setBackend('cpu'));

/** The composed form, written out: what dropout computed before the fused kernel. */
function composedDropout(x: Float32Array, p: number, g: T.Generator): Float32Array {
  const mask = g.fillUniform(new Float32Array(x.length));
  const scale = Math.fround(1 / (1 - p));
  return x.map((v, i) => v * (mask[i]! >= p ? scale : 0));
}

describe('Generator.advance', () => {
  it('reaches the state of drawing one by one, for counts across bit patterns', () => {
    for (const count of [0, 1, 2, 3, 7, 64, 65535, 65536, 100003]) {
      const stepped = new T.Generator(11);
      for (let i = 0; i < count; i++) stepped.nextUint32();
      const jumped = new T.Generator(11).advance(count);
      expect(jumped.getState()).toEqual(stepped.getState());
      expect(jumped.nextUint32()).toBe(stepped.nextUint32());
    }
  });

  it('rejects a count that is not a non-negative integer, naming it', () => {
    expect(() => new T.Generator(0).advance(-1)).toThrow(/count must be a non-negative integer, got -1/);
    expect(() => new T.Generator(0).advance(1.5)).toThrow(T.ArgumentError);
  });
});

describe.each(['cpu', 'wasm'])('fused dropout on %s', (backend) => {
  it('gives the composed values and leaves the generator where the composed form does', () => {
    T.setBackend(backend);
    // sizes below and above the wasm pool's chunk (65536 draws), p values whose 2^24 multiple is and is not whole
    for (const [n, p] of [
      [1000, 0.1],
      [200003, 0.25],
      [70000, 1 / 3],
    ] as const) {
      const xs = T.randn([n], { seed: n }).dataSync() as Float32Array;
      const g = new T.Generator(5);
      const y = T.dropout(T.tensor(xs), p, { generator: g }).dataSync() as Float32Array;
      const ref = new T.Generator(5);
      expect(firstBitDifference(y, composedDropout(xs, p, ref))).toBe(-1);
      expect(g.getState()).toEqual(ref.getState());
    }
  });

  it('compares each draw with p exactly: a draw equal to p is kept, p half a step above drops it', () => {
    T.setBackend(backend);
    const bits = new T.Generator(21).nextUint32() >>> 8; // the first draw's 24 bits: u = bits / 2^24
    const first = (p: number) => T.dropout(T.ones([4]), p, { seed: 21 }).dataSync()[0];
    expect(first(bits / 2 ** 24)).toBeCloseTo(1 / (1 - bits / 2 ** 24), 5); // u ≥ p: kept
    expect(first((bits + 0.5) / 2 ** 24)).toBe(0); // u < p: dropped
  });

  it('has the composed gradient: dy times the same mask', () => {
    T.setBackend(backend);
    const x = T.randn([64, 33], { seed: 2 }).requiresGrad_();
    const dy = T.randn([64, 33], { seed: 3 });
    T.dropout(x, 0.3, { seed: 9 }).backward(dy);
    const ref = composedDropout(dy.dataSync() as Float32Array, 0.3, new T.Generator(9));
    expect(firstBitDifference(x.grad!.dataSync() as Float32Array, ref)).toBe(-1);
  });

  it('keeps NaN where the mask keeps it and zeroes where it drops, as x · mask does', () => {
    T.setBackend(backend);
    const xs = new Float32Array(64).fill(Number.NaN);
    const y = T.dropout(T.tensor(xs), 0.5, { seed: 1 }).dataSync();
    const ref = composedDropout(xs, 0.5, new T.Generator(1)); // NaN · 0 = NaN, as in the composed form
    expect(Array.from(y).map(Number.isNaN)).toEqual(Array.from(ref).map(Number.isNaN));
  });
});

describe('wasm dropout on the pool', () => {
  it.runIf(IN_NODE)(
    'gives the same bits on one thread and on the pool (chunks jump the stream ahead)',
    async () => {
      const x = Float32Array.from({ length: 5 * 65536 + 17 }, (_, i) => (i % 13) - 6);
      const job = {
        threshold: Math.ceil(0.2 * 2 ** 24),
        scale: Math.fround(1 / 0.8),
        stateHi: 0x1234,
        stateLo: 0x9abcdef,
      };
      const one = new WasmBackend('wasm-dropout-1', 1);
      const many = new WasmBackend('wasm-dropout-3', 3);
      try {
        await many.warmUp();
        const ref = one.dropout(x, job)!;
        const g = new T.Generator().setState({ hi: job.stateHi, lo: job.stateLo, spareNormal: null });
        expect(firstBitDifference(ref, composedDropout(x, 0.2, g))).toBe(-1);
        for (let attempt = 0; attempt < 20 && many.tasksOnWorkers === 0; attempt++) {
          expect(firstBitDifference(many.dropout(x, job)!, ref)).toBe(-1);
        }
        expect(many.tasksOnWorkers).toBeGreaterThan(0);
      } finally {
        one.destroy();
        many.destroy();
      }
    },
  );
});
