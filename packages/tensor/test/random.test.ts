import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

describe('seeded random generation', () => {
  it('is reproducible and identical across backends', () => {
    const draw = (backend: string) => {
      T.setBackend(backend);
      return [T.rand([50], { seed: 9 }), T.randn([50], { seed: 9 }), T.randint(0, 7, [50], { seed: 9 })].map(
        (t) => Array.from(t.dataSync()),
      );
    };
    const cpu = draw('cpu');
    expect(draw('cpu')).toEqual(cpu);
    expect(draw('wasm')).toEqual(cpu);
    T.setBackend('cpu');
  });

  it('a generator advances and can be restored from its state', () => {
    const g = new T.Generator(123);
    const state = g.getState();
    const first = [g.uniform(), g.normal(), g.integer(0, 10)];
    expect([g.uniform(), g.normal()]).not.toEqual(first.slice(0, 2));
    g.setState(state);
    expect([g.uniform(), g.normal(), g.integer(0, 10)]).toEqual(first);
  });

  it('fillUniform draws the same stream as uniform() and leaves the same state (across wasm chunks)', () => {
    const bulk = new T.Generator(77);
    const one = new T.Generator(77);
    bulk.uniform(); // start mid-stream
    one.uniform();
    const got = bulk.fillUniform(new Float32Array(40_003));
    const want = Float32Array.from({ length: 40_003 }, () => one.uniform());
    expect(got).toEqual(want);
    expect(bulk.getState()).toEqual(one.getState());
    expect(bulk.uniform()).toBe(one.uniform());
  });

  it('has the right moments (100k draws)', () => {
    const u = T.rand([100000], { seed: 1 }).dataSync();
    const n = T.randn([100000], { seed: 2 }).dataSync();
    const mean = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;
    const varOf = (v: ArrayLike<number>) => {
      const m = mean(v);
      return Array.from(v).reduce((a, b) => a + (b - m) ** 2, 0) / v.length;
    };
    // Uniform[0,1): mean 1/2, variance 1/12; standard normal: 0 and 1 (4-sigma bounds).
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.004);
    expect(Math.abs(varOf(u) - 1 / 12)).toBeLessThan(0.002);
    expect(Math.abs(mean(n))).toBeLessThan(0.013);
    expect(Math.abs(varOf(n) - 1)).toBeLessThan(0.02);
    const ints = T.randint(0, 4, [40000], { seed: 3 }).dataSync();
    for (let k = 0; k < 4; k++)
      expect(Math.abs(Array.from(ints).filter((v) => v === k).length / 40000 - 0.25)).toBeLessThan(0.01);
  });

  it('dropout keeps about 1 − p and rescales', () => {
    const y = T.dropout(T.ones([20000]), 0.25, { seed: 4 }).dataSync();
    const kept = Array.from(y).filter((v) => v !== 0);
    expect(Math.abs(kept.length / 20000 - 0.75)).toBeLessThan(0.015);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Array.from(T.dropout(T.ones([5]), 0.5, { training: false }).dataSync())).toEqual([1, 1, 1, 1, 1]);
  });

  it('generatorFrom: an explicit generator is shared, a seed makes a fresh one, nothing means the default', () => {
    const g = new T.Generator(5);
    expect(T.generatorFrom({ generator: g, seed: 1 })).toBe(g); // generator wins over seed
    const a = T.generatorFrom({ seed: 11 });
    const b = T.generatorFrom({ seed: 11 });
    expect(a).not.toBe(b);
    expect([a.uniform(), a.uniform()]).toEqual([b.uniform(), b.uniform()]);
    expect(T.generatorFrom({ seed: 11 }).uniform()).toBe(new T.Generator(11).uniform());
    expect(T.generatorFrom(undefined)).toBe(T.getDefaultGenerator());
    expect(T.generatorFrom({})).toBe(T.getDefaultGenerator());
    // manualSeed replaces the default, and unseeded callers follow it.
    const seeded = T.manualSeed(42);
    expect(T.generatorFrom(undefined)).toBe(seeded);
    expect(T.generatorFrom(undefined).uniform()).toBe(new T.Generator(42).uniform());
  });
});
