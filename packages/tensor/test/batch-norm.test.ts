/**
 * The fused batch-norm kernels against an independent float64 reference written here from the
 * formula, against the composed form (a backend without the fused kernels, and one with only the
 * forward kernels, as a third-party backend might register them), and bad input. PyTorch golden
 * values for the module (running statistics, train and eval) are in @polymodal/nn.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/backends/cpu/cpu-backend.js';
import { CPU_KERNELS } from '../src/backends/cpu/kernels/index.js';
import * as T from '../src/index.js';
import { registerKernels } from '../src/kernel-registry.js';

afterAll(() => T.setBackend('cpu'));

/** A cpu backend registered under `name` without the kernels in `drop`. */
function cpuWithout(name: string, drop: readonly string[]): string {
  registerKernels(
    CPU_KERNELS.filter((k) => !drop.includes(k.kernelName)).map((k) => ({ ...k, backendName: name })),
  );
  T.registerBackend(
    name,
    () =>
      new (class extends CpuBackend {
        override readonly name = name;
      })(),
  );
  return name;
}
const BACKWARD_ONLY = cpuWithout('cpu-bn-forward-only', ['BatchNormParamGrad', 'BatchNormGrad']);
const COMPOSED = cpuWithout('cpu-bn-composed', [
  'BatchNormStats',
  'BatchNormTrain',
  'BatchNormParamGrad',
  'BatchNormGrad',
]);

/** y, dx, dw, db of training-mode batch norm with upstream gradient `dy`, on `backend`. */
function run(backend: string, x: Float32Array, shape: number[], dy: Float32Array) {
  T.setBackend(backend);
  return T.scope(() => {
    const c = shape[1]!;
    const xt = T.tensor(x, { shape, requiresGrad: true });
    const w = T.tensor(
      Array.from({ length: c }, (_, i) => 0.5 + i / 4),
      { requiresGrad: true },
    );
    const b = T.tensor(
      Array.from({ length: c }, (_, i) => i / 3 - 1),
      { requiresGrad: true },
    );
    const [rm, rv] = [T.zeros([c]), T.ones([c])];
    const y = T.batchNorm(xt, rm, rv, w, b, { training: true });
    y.backward(T.tensor(dy, { shape }));
    const read = (t: T.Tensor) => Float64Array.from(t.dataSync());
    return {
      y: read(y),
      dx: read(xt.grad!),
      dw: read(w.grad!),
      db: read(b.grad!),
      rm: read(rm),
      rv: read(rv),
    };
  });
}

/** The same in float64, straight from the definition. */
function reference(x: Float32Array, shape: number[], dy: Float32Array) {
  const [n, c] = [shape[0]!, shape[1]!];
  const l = x.length / (n * c);
  const m = n * l;
  const at = (i: number, ch: number, j: number) => (i * c + ch) * l + j;
  const out = {
    y: new Float64Array(x.length),
    dx: new Float64Array(x.length),
    dw: new Float64Array(c),
    db: new Float64Array(c),
    rm: new Float64Array(c),
    rv: new Float64Array(c),
  };
  for (let ch = 0; ch < c; ch++) {
    const w = 0.5 + ch / 4;
    const b = ch / 3 - 1;
    let mu = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) mu += x[at(i, ch, j)]!;
    mu /= m;
    let v = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) v += (x[at(i, ch, j)]! - mu) ** 2;
    v /= m;
    const rstd = 1 / Math.sqrt(v + 1e-5);
    let sg = 0;
    let sgx = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < l; j++) {
        const k = at(i, ch, j);
        const xhat = (x[k]! - mu) * rstd;
        out.y[k] = xhat * w + b;
        sg += dy[k]!;
        sgx += dy[k]! * xhat;
      }
    }
    out.dw[ch] = sgx;
    out.db[ch] = sg;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < l; j++) {
        const k = at(i, ch, j);
        const xhat = (x[k]! - mu) * rstd;
        out.dx[k] = w * rstd * (dy[k]! - sg / m - (xhat * sgx) / m);
      }
    }
    out.rm[ch] = 0.1 * mu;
    out.rv[ch] = 0.9 + (0.1 * v * m) / (m - 1);
  }
  return out;
}

function expectClose(got: Float64Array, want: Float64Array, tol: number, what: string): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst, what).toBeLessThanOrEqual(tol);
}

describe('batchNorm: fused kernels', () => {
  const shape = [4, 3, 5, 6];
  const x = Float32Array.from({ length: 360 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 7));
  const dy = Float32Array.from({ length: 360 }, (_, i) => Math.cos(i * 0.9));
  const want = reference(x, shape, dy);

  for (const backend of ['cpu', 'wasm', BACKWARD_ONLY, COMPOSED]) {
    it(`${backend}: forward, running statistics and gradients match the float64 reference`, () => {
      const got = run(backend, x, shape, dy);
      expectClose(got.y, want.y, 2e-5, 'y');
      expectClose(got.dx, want.dx, 2e-5, 'dx');
      expectClose(got.dw, want.dw, 1e-4, 'dweight');
      expectClose(got.db, want.db, 1e-4, 'dbias');
      expectClose(got.rm, want.rm, 1e-6, 'runningMean');
      expectClose(got.rv, want.rv, 1e-5, 'runningVar');
    });
  }

  // [N, C] (BatchNorm1d over features, as FiLM's blocks run it) takes the kernels' row-wise path.
  it.each(['cpu', 'wasm'])('%s: 2-d input [N, C] matches the float64 reference', (backend) => {
    const shape2 = [24, 5];
    const x2 = x.subarray(0, 120);
    const dy2 = dy.subarray(0, 120);
    const ref = reference(x2, shape2, dy2);
    const got = run(backend, x2, shape2, dy2);
    expectClose(got.y, ref.y, 2e-5, 'y');
    expectClose(got.dx, ref.dx, 2e-5, 'dx');
    expectClose(got.dw, ref.dw, 1e-4, 'dweight');
    expectClose(got.db, ref.db, 1e-4, 'dbias');
    expectClose(got.rv, ref.rv, 1e-5, 'runningVar');
  });

  it('statistics stay accurate for a channel far from zero (mean 1e4, std 0.1)', () => {
    const big = Float32Array.from({ length: 360 }, (_, i) => 1e4 + 0.1 * Math.sin(i * 1.3));
    const ref = reference(big, shape, dy);
    const got = run('cpu', big, shape, dy);
    // One float32 ulp at 1e4 is 1e-3 = 0.01 std: the outputs carry that input rounding, no more.
    expectClose(got.y, ref.y, 2e-2, 'y');
    expectClose(got.dx, ref.dx, 0.5, 'dx (|dx| up to ~40 here)');
    expectClose(got.rv, ref.rv, 1e-6, 'runningVar');
  });

  it('the op uses the fused kernels on cpu and wasm (no transposes, one kernel per direction)', () => {
    T.setBackend('cpu');
    const xt = T.randn([8, 4, 6, 6], { seed: 1, requiresGrad: true });
    const p = T.profile(() =>
      T.scope(() => T.batchNorm(xt, null, null, null, null, { training: true }).square().sum().backward()),
    );
    const names = new Set(p.kernels.map((k) => k.kernel));
    for (const k of ['BatchNormStats', 'BatchNormTrain', 'BatchNormParamGrad', 'BatchNormGrad'])
      expect(names.has(k), k).toBe(true);
    expect(names.has('Transpose')).toBe(false);
  });
});

describe('batchNorm and groupNorm: bad input', () => {
  it('throws typed errors naming the argument and shapes', () => {
    T.setBackend('cpu');
    const x = T.randn([2, 3, 4]);
    expect(() => T.batchNorm(T.randn([1, 3]), null, null, null, null, { training: true })).toThrow(
      /more than 1 value per channel.*\[1,3\]/,
    );
    expect(() => T.batchNorm(x, null, null, T.ones([4]), null, { training: true })).toThrow(T.ShapeError);
    expect(() => T.batchNorm(x, null, null, T.ones([4]), null, { training: true })).toThrow(
      /weight \[4\] must be \[3\]/,
    );
    expect(() => T.batchNorm(x, null, null)).toThrow(/evaluation needs runningMean/);
    expect(() => T.batchNorm(x, T.zeros([3]), null, null, null, { training: true })).toThrow(/together/);
    expect(() => T.batchNorm(T.randn([3]), null, null, null, null, { training: true })).toThrow(
      /\[N, C, …\]/,
    );
    expect(() => T.batchNorm(x.int(), null, null, null, null, { training: true })).toThrow(T.DTypeError);
    expect(() => T.batchNorm(x, null, null, null, null, { training: true, momentum: 2 })).toThrow(
      T.ArgumentError,
    );
    expect(() => T.groupNorm(x, 2)).toThrow(/numGroups must be a positive integer dividing the 3 channels/);
    expect(() => T.groupNorm(x, 3, T.ones([2]))).toThrow(/weight \[2\] must be \[3\]/);
  });
});

describe('groupNorm', () => {
  it('normalizes each (sample, group) over its channels and positions (float64 reference)', () => {
    T.setBackend('cpu');
    const [n, c, l, g] = [2, 6, 5, 3];
    const x = Float32Array.from({ length: n * c * l }, (_, i) => Math.sin(i * 2.1) * 2 + (i % 4));
    const w = Array.from({ length: c }, (_, i) => 1 + i / 5);
    const b = Array.from({ length: c }, (_, i) => i / 10);
    const y = T.groupNorm(T.tensor(x, { shape: [n, c, l] }), g, T.tensor(w), T.tensor(b)).dataSync();
    const per = (c / g) * l;
    for (let i = 0; i < n * g; i++) {
      const block = Array.from(x.subarray(i * per, (i + 1) * per));
      const mu = block.reduce((s, v) => s + v, 0) / per;
      const v = block.reduce((s, u) => s + (u - mu) ** 2, 0) / per;
      block.forEach((u, k) => {
        const ch = ((i % g) * per + k) / l;
        const want = ((u - mu) / Math.sqrt(v + 1e-5)) * w[Math.floor(ch)]! + b[Math.floor(ch)]!;
        expect(Math.abs(y[i * per + k]! - want)).toBeLessThan(1e-5);
      });
    }
  });
});
