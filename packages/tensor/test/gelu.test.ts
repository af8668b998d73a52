/**
 * The fused GELU kernels (cpu in float64 arithmetic, wasm in f32x4 SIMD) against an independent
 * float64 reference: Φ from the Taylor series of erf for |x| ≤ 3 and the continued fraction of
 * erfc beyond (Abramowitz & Stegun 7.1.5 and 7.1.14), not the approximation the kernels use. The
 * composed form (what gpu.js runs) is checked against the same reference by the conformance table.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { CPU_KERNELS } from '../src/backends/cpu/kernels/index.js';
import { WasmBackend } from '../src/backends/wasm/wasm-backend.js';
import * as T from '../src/index.js';
import { registerKernels } from '../src/kernel-registry.js';

/** The float32 bits of `x` (a kernel's output may be a view into wasm memory, so not `x.buffer` whole). */
const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

afterAll(() => T.setBackend('cpu'));

/** erfc(z) for z ≥ 0 in float64, to about 1e-14 relative. */
function erfc(z: number): number {
  if (z <= 3) {
    // erf(z) = 2/√π Σ (−1)ⁿ z^(2n+1) / (n!(2n+1))
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + …))))), evaluated bottom-up.
  let f = z;
  for (let n = 120; n >= 1; n--) f = z + n / 2 / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}
const cdf = (x: number) => (x >= 0 ? 1 - 0.5 * erfc(x / Math.SQRT2) : 0.5 * erfc(-x / Math.SQRT2));
const pdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
const geluRef = (x: number) => x * cdf(x);
const geluGradRef = (x: number) => cdf(x) + x * pdf(x);
const K = Math.sqrt(2 / Math.PI);
const geluTanhRef = (x: number) => 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x ** 3)));
const geluTanhGradRef = (x: number) => {
  const th = Math.tanh(K * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * K * (1 + 3 * 0.044715 * x * x);
};

/** Dense over [−12, 12] (both tails), plus zeros and values near the x ≥ 0 switch; not a multiple of 4 long. */
function inputs(): Float32Array {
  const values = [0, -0, 1e-30, -1e-30, 1e-7, -1e-7];
  for (let x = -12; x <= 12; x += 0.00731) values.push(x);
  return Float32Array.from(values.slice(0, values.length - (values.length % 4 === 0 ? 1 : 0)));
}

/**
 * Allowed error. A&S 7.1.26 is within 1.5e-7 of erf, so Φ is within 7.5e-8; evaluating it in
 * float32 (the SIMD kernel: about ten roundings of 6e-8 relative) adds up to about 1.2e-7, so Φ is
 * held to 2e-7 and x·Φ to 2e-7·|x|, plus a few ulps of the result (2.4e-7 relative). Far in the
 * negative tail that bound exceeds the value itself, as it does for torch's and the composed form's
 * `1 + erf` (which give 0 there); the tail test below holds the fused kernels to a relative bound.
 */
const PHI_ERROR = 2e-7;
const tolerance = (x: number, want: number) => PHI_ERROR * Math.abs(x) + 2.4e-7 * Math.abs(want) + 1e-37;
/** The derivative Φ(x) + x·φ(x) carries Φ's error unscaled, plus float32 rounding of both terms. */
const gradTolerance = (x: number, want: number) =>
  PHI_ERROR + 2.4e-7 * (Math.abs(want) + Math.abs(x * pdf(x))) + 1e-37;

function run(backend: string, approximate: 'none' | 'tanh', x: Float32Array, dy: Float32Array) {
  T.setBackend(backend);
  const t = T.tensor(x, { requiresGrad: true });
  const y = T.gelu(t, { approximate });
  y.backward(T.tensor(dy));
  const result = { y: y.dataSync() as Float32Array, dx: t.grad!.dataSync() as Float32Array };
  t.dispose();
  y.dispose();
  return result;
}

describe('fused Gelu / GeluGrad kernels', () => {
  const x = inputs();
  const ones = new Float32Array(x.length).fill(1);
  for (const backend of ['cpu', 'wasm-1t']) {
    it(`${backend}: exact form and its derivative match the float64 reference`, () => {
      const { y, dx } = run(backend, 'none', x, ones);
      let worst = 0;
      for (let i = 0; i < x.length; i++) {
        const v = x[i]!;
        const [wy, wd] = [geluRef(v), geluGradRef(v)];
        worst = Math.max(
          worst,
          Math.abs(y[i]! - wy) / tolerance(v, wy),
          Math.abs(dx[i]! - wd) / gradTolerance(v, wd),
        );
        if (!(Math.abs(y[i]! - wy) <= tolerance(v, wy)))
          throw new Error(`gelu(${v}) = ${y[i]}, want ${wy} (±${tolerance(v, wy)})`);
        if (!(Math.abs(dx[i]! - wd) <= gradTolerance(v, wd)))
          throw new Error(`gelu'(${v}) = ${dx[i]}, want ${wd} (±${gradTolerance(v, wd)})`);
      }
      expect(worst).toBeLessThanOrEqual(1);
      // The negative tail keeps its relative accuracy (no 1 + erf cancellation): A&S 7.1.26 is
      // 0.36 % off at x = −6 (float64 check of the formula), where gelu(x) ≈ −6e-9.
      for (let i = 0; i < x.length; i++) {
        const v = x[i]!;
        if (v < -6 || v > -3) continue;
        expect(Math.abs(y[i]! / geluRef(v) - 1)).toBeLessThan(0.004);
      }
      // Signs of zero and the tails as torch gives them: gelu(−0) = −0, gelu(−12) < 0 and tiny.
      expect(Object.is(y[1], -0)).toBe(true);
      expect(y[6]).toBeLessThan(0);
    });

    it(`${backend}: tanh form and its derivative match the float64 reference`, () => {
      const { y, dx } = run(backend, 'tanh', x, ones);
      for (let i = 0; i < x.length; i += 3) {
        const v = x[i]!;
        expect(Math.abs(y[i]! - geluTanhRef(v))).toBeLessThanOrEqual(4e-7 * Math.max(1, Math.abs(v)));
        expect(Math.abs(dx[i]! - geluTanhGradRef(v))).toBeLessThanOrEqual(4e-7 * Math.max(1, Math.abs(v)));
      }
    });

    it(`${backend}: the backward multiplies by dy and keeps NaN and infinities as the composed form does`, () => {
      const dy = Float32Array.from(x, (_, i) => ((i % 7) - 3) / 2);
      const { dx } = run(backend, 'none', x, dy);
      for (let i = 0; i < x.length; i += 5)
        expect(Math.abs(dx[i]! - dy[i]! * geluGradRef(x[i]!))).toBeLessThanOrEqual(
          Math.abs(dy[i]!) * gradTolerance(x[i]!, geluGradRef(x[i]!)) * 1.01,
        );
      const special = run(
        backend,
        'none',
        Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY, 0, 1]),
        Float32Array.from([1, 1, 1, 1]),
      );
      expect(Number.isNaN(special.y[0]!)).toBe(true);
      expect(special.y[1]).toBe(Number.POSITIVE_INFINITY);
      expect(special.dx[1]).toBe(1);
      expect(special.dx[2]).toBe(0.5);
    });
  }

  it('wasm routes Gelu (exact) and GeluGrad to the SIMD kernels, the tanh form to the JS ones', () => {
    const simd = new WasmBackend('wasm-gelu-direct', 1);
    const dy = Float32Array.from(x, (_, i) => Math.sin(i));
    const exact = run('wasm-1t', 'none', x, dy);
    // Bit-equal to calling the SIMD drivers directly (the float64 JS kernels round differently).
    const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    expect(bits(exact.y)).toEqual(bits(simd.unary('gelu', x)!));
    expect(bits(exact.dx)).toEqual(bits(simd.binary('gelu_grad', x, [x.length], dy, [dy.length])!));
    const tanh = run('wasm-1t', 'tanh', x, dy);
    expect(bits(tanh.y)).toEqual(bits(run('cpu', 'tanh', x, dy).y));
    expect(bits(exact.y)).not.toEqual(bits(run('cpu', 'none', x, dy).y));
    simd.destroy();
  });

  it('a backend with Gelu but no GeluGrad gets the composed backward, matching the fused one', () => {
    // The cpu kernels minus GeluGrad, as a third-party backend might register them.
    registerKernels(
      CPU_KERNELS.filter((k) => k.kernelName !== 'GeluGrad').map((k) => ({
        ...k,
        backendName: 'cpu-no-gelu-grad',
      })),
    );
    T.registerBackend(
      'cpu-no-gelu-grad',
      () =>
        new (class extends CpuBackend {
          override readonly name = 'cpu-no-gelu-grad';
        })(),
    );
    for (const approximate of ['none', 'tanh'] as const) {
      const dy = Float32Array.from(x, (_, i) => Math.cos(i));
      const fused = run('cpu', approximate, x, dy);
      const composed = run('cpu-no-gelu-grad', approximate, x, dy);
      expect(Array.from(composed.y)).toEqual(Array.from(fused.y)); // the same forward kernel
      expect(T.getBackend()).toBe('cpu-no-gelu-grad');
      for (let i = 0; i < x.length; i += 7)
        expect(Math.abs(composed.dx[i]! - fused.dx[i]!)).toBeLessThanOrEqual(
          Math.abs(dy[i]!) * gradTolerance(x[i]!, geluGradRef(x[i]!)) * 2 + 1e-7,
        );
    }
  });

  // Worker threads run in Node (and in browser workers: test/wasm-threads-browser.test.ts); a
  // browser page's main thread runs the backend on one thread by design.
  it.runIf(typeof window === 'undefined')(
    'wasm on one thread and on the pool gives the same bits (inputs past the 128 K-element split)',
    async () => {
      const big = Float32Array.from({ length: 300_001 }, (_, i) => Math.sin(i) * 8);
      const one = new WasmBackend('wasm-gelu-1', 1);
      const many = new WasmBackend('wasm-gelu-3', 3);
      try {
        await many.warmUp();
        const a = one.unary('gelu', big)!;
        let b = many.unary('gelu', big)!;
        // Under load a worker may not have claimed a task yet: repeat until one has (same bits each time).
        for (let rep = 0; rep < 20 && many.tasksOnWorkers === 0; rep++) b = many.unary('gelu', big)!;
        expect(bits(a).every((v, i) => v === bits(b)[i])).toBe(true);
        expect(many.tasksOnWorkers).toBeGreaterThan(0);
      } finally {
        one.destroy();
        many.destroy();
      }
    },
  );
});
