import {
  ArgumentError,
  DTypeError,
  Generator,
  gradCheck,
  memory,
  randn,
  ShapeError,
  scope,
  type Tensor,
  tensor,
  generatorFrom as tensorGeneratorFrom,
} from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { GELU, ReLU, SiLU } from './activations.js';
import { Conv2d } from './conv2d.js';
import { Dropout } from './dropout.js';
import { Embedding } from './embedding.js';
import { gradCheckModule } from './grad-check-module.js';
import * as nn from './index.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';
import { MLP } from './mlp.js';
import { PatchEmbedding } from './patch-embedding.js';

const arr = (t: Tensor): number[] => Array.from(t.dataSync());

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++)
    expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol);
}

describe('Linear', () => {
  it('computes x·Wᵀ + b (hand-computed) and has PyTorch default init bounds', () => {
    const fc = new Linear(2, 2, { seed: 0 });
    fc.weight.assign(
      tensor([
        [1, 2],
        [3, 4],
      ]),
    );
    fc.bias!.assign(tensor([0.5, -1]));
    // [1, 1]·Wᵀ + b = [1+2+0.5, 3+4−1] = [3.5, 6]
    expect(arr(fc.forward(tensor([[1, 1]])))).toEqual([3.5, 6]);
    const big = new Linear(64, 32, { seed: 3 });
    const bound = 1 / Math.sqrt(64);
    expect(arr(big.weight).every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(arr(big.bias!).every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(Math.max(...arr(big.weight).map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(new Linear(3, 2, { bias: false }).bias).toBeNull();
    expect(arr(new Linear(3, 2, { seed: 1 }).weight)).toEqual(arr(new Linear(3, 2, { seed: 1 }).weight));
  });

  it('rejects bad widths with a typed error naming the shapes', () => {
    expect(() => new Linear(0, 2)).toThrow(ArgumentError);
    expect(() => new Linear(3, 2).forward(randn([4, 5]))).toThrow(/\[4,5\].*\[2,3\]/);
  });

  it('passes a gradient check (weights and input), and a wrong gradient is caught', () => {
    const fc = new Linear(3, 2, { seed: 0 });
    const x = randn([4, 3], { seed: 1 });
    expect(gradCheckModule(fc, () => fc.forward(x).tanh().mean()).ok).toBe(true);
    // The checker must be able to fail: a loss whose analytic grad is detached somewhere.
    const wrong = gradCheckModule(fc, () =>
      fc.forward(x).tanh().mean().add(fc.weight.detach().square().sum()),
    );
    expect(wrong.ok).toBe(false);
    expect(wrong.parameter).toBe('weight');
  });
});

describe('Embedding', () => {
  it('looks up rows, zeroes the padding row and never gives it gradient', () => {
    const emb = new Embedding(5, 3, { paddingIdx: 0, seed: 0 });
    expect(arr(emb.weight).slice(0, 3)).toEqual([0, 0, 0]);
    const idx = tensor([[1, 0, 4]], { dtype: 'int32' });
    const out = emb.forward(idx);
    expect(out.shape).toEqual([1, 3, 3]);
    expect(arr(out).slice(0, 3)).toEqual(arr(emb.weight).slice(3, 6));
    scope(() => emb.forward(idx).square().sum().backward());
    const g = arr(emb.weight.grad!);
    expect(g.slice(0, 3)).toEqual([0, 0, 0]);
    expect(g.slice(3, 6).some((v) => v !== 0)).toBe(true);
    emb.zeroGrad();
    const plain = new Embedding(4, 2, { seed: 1 });
    expect(
      gradCheckModule(plain, () =>
        plain
          .forward(tensor([2, 0, 2], { dtype: 'int32' }))
          .tanh()
          .mean(),
      ).ok,
    ).toBe(true);
    expect(() => plain.forward(tensor([1.5]))).toThrow(DTypeError);
    expect(() => plain.forward(tensor([4], { dtype: 'int32' }))).toThrow(/embedding/);
    expect(() => new Embedding(4, 2, { paddingIdx: 4 })).toThrow(ArgumentError);
  });

  it('N(0,1) init', () => {
    const w = arr(new Embedding(1000, 20, { seed: 2 }).weight);
    const mean = w.reduce((a, b) => a + b) / w.length;
    const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(variance).toBeCloseTo(1, 1);
  });
});

describe('LayerNorm', () => {
  it('normalises the last dim (hand-computed) and passes a gradient check', () => {
    const norm = new LayerNorm(4, { eps: 0 });
    // [1,2,3,4]: mean 2.5, biased var 1.25 → (x − 2.5)/√1.25
    const s = Math.sqrt(1.25);
    expectClose(norm.forward(tensor([[1, 2, 3, 4]])).dataSync(), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
    const ln = new LayerNorm([3]);
    ln.weight!.assign(tensor([0.5, 1, 2]));
    ln.bias!.assign(tensor([0.1, 0, -0.1]));
    const x = randn([2, 3], { seed: 4 });
    expect(
      gradCheckModule(ln, () =>
        ln
          .forward(x)
          .mul(tensor([1, -2, 3]))
          .mean(),
      ).ok,
    ).toBe(true);
    expect(new LayerNorm(3, { elementwiseAffine: false }).parameters()).toHaveLength(0);
    expect(() => norm.forward(randn([2, 5]))).toThrow(ShapeError);
  });
});

describe('generatorFrom', () => {
  it("is @polymodal/tensor's, and a seed, an equal generator or the default give the same init", () => {
    expect(nn.generatorFrom).toBe(tensorGeneratorFrom);
    const bySeed = arr(new Linear(4, 3, { seed: 7 }).weight);
    expect(arr(new Linear(4, 3, { generator: new Generator(7) }).weight)).toEqual(bySeed);
    const global = nn.generatorFrom(undefined);
    const saved = global.getState();
    global.setState(new Generator(7).getState());
    expect(arr(new Linear(4, 3).weight)).toEqual(bySeed);
    global.setState(saved);
  });
});

describe('Dropout', () => {
  it('drops with the seeded mask in training and is the identity in eval', () => {
    const x = randn([1000], { seed: 1 }).abs().add(1);
    const drop = new Dropout(0.3, { seed: 5 });
    const y = arr(drop.forward(x));
    const xs = arr(x);
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros / 1000).toBeGreaterThan(0.25);
    expect(zeros / 1000).toBeLessThan(0.35);
    y.forEach((v, i) => {
      if (v !== 0) expect(v).toBeCloseTo(xs[i]! / 0.7, 4);
    });
    expect(arr(new Dropout(0.3, { seed: 5 }).forward(x))).toEqual(y);
    drop.eval();
    expect(drop.forward(x)).toBe(x);
    expect(() => new Dropout(1.5)).toThrow(ArgumentError);
  });
});

describe('activations', () => {
  it('match hand-computed values', () => {
    const x = tensor([-1, 0, 1]);
    expect(arr(new ReLU().forward(x))).toEqual([0, 0, 1]);
    // GELU(1) = Φ(1) = 0.841344746…; GELU(−1) = −(1 − Φ(1)) = −0.158655254
    expectClose(new GELU().forward(x).dataSync(), [-0.158655254, 0, 0.841344746]);
    // tanh GELU(1) = 0.5·(1 + tanh(√(2/π)·1.044715)) = 0.841191990
    expectClose(new GELU({ approximate: 'tanh' }).forward(tensor([1])).dataSync(), [0.84119199]);
    // SiLU(1) = 1/(1 + e⁻¹) = 0.731058579
    expectClose(new SiLU().forward(tensor([1])).dataSync(), [0.731058579]);
  });
});

describe('MLP', () => {
  it('uses the torchvision layout and names, and passes a gradient check', () => {
    const mlp = new MLP(3, [5, 2], { activation: 'gelu', seed: 0 });
    expect(mlp.children().map((m) => m.constructor.name)).toEqual([
      'Linear',
      'GELU',
      'Dropout',
      'Linear',
      'Dropout',
    ]);
    expect(Object.keys(mlp.stateDict())).toEqual(['0.weight', '0.bias', '3.weight', '3.bias']);
    const x = randn([4, 3], { seed: 2 });
    expect(mlp.forward(x).shape).toEqual([4, 2]);
    const l0 = mlp.at(0) as Linear;
    const l3 = mlp.at(3) as Linear;
    expectClose(mlp.forward(x).dataSync(), l3.forward(l0.forward(x).gelu()).dataSync());
    expect(gradCheckModule(mlp, () => mlp.forward(x).tanh().mean()).ok).toBe(true);
    expect(() => new MLP(3, [])).toThrow(ArgumentError);
    expect(() => new MLP(3, [4, 2], { activation: 'swish' as never })).toThrow(/unknown activation/);
  });
});

/** Direct 2-D cross-correlation with zero padding, for checking Conv2d independently. */
function naiveConv(
  x: number[],
  [n, c, h, w]: number[],
  k: number[],
  [o, , kh, kw]: number[],
  b: number[],
  stride: number,
  pad: number,
): number[] {
  const oh = Math.floor((h! + 2 * pad - kh!) / stride) + 1;
  const ow = Math.floor((w! + 2 * pad - kw!) / stride) + 1;
  const out: number[] = [];
  for (let ni = 0; ni < n!; ni++)
    for (let oi = 0; oi < o!; oi++)
      for (let y = 0; y < oh; y++)
        for (let z = 0; z < ow; z++) {
          let s = b[oi]!;
          for (let ci = 0; ci < c!; ci++)
            for (let i = 0; i < kh!; i++)
              for (let j = 0; j < kw!; j++) {
                const yy = y * stride + i - pad;
                const zz = z * stride + j - pad;
                if (yy < 0 || zz < 0 || yy >= h! || zz >= w!) continue;
                s += x[((ni * c! + ci) * h! + yy) * w! + zz]! * k[((oi * c! + ci) * kh! + i) * kw! + j]!;
              }
          out.push(s);
        }
  return out;
}

describe('Conv2d', () => {
  it('matches a direct convolution with stride and padding, and PyTorch init bounds', () => {
    const conv = new Conv2d(2, 3, 3, { stride: 2, padding: 1, seed: 0 });
    const x = randn([2, 2, 5, 5], { seed: 1 });
    const y = conv.forward(x);
    expect(y.shape).toEqual([2, 3, 3, 3]);
    expectClose(
      y.dataSync(),
      naiveConv(arr(x), [2, 2, 5, 5], arr(conv.weight), [3, 2, 3, 3], arr(conv.bias!), 2, 1),
      1e-5,
    );
    const bound = 1 / Math.sqrt(2 * 9);
    expect(arr(conv.weight).every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(() => conv.forward(randn([1, 3, 5, 5]))).toThrow(/3 channels/);
  });

  it('passes a gradient check', () => {
    const conv = new Conv2d(2, 2, 2, { padding: 1, seed: 3 });
    const x = randn([1, 2, 3, 3], { seed: 4 });
    expect(gradCheckModule(conv, () => conv.forward(x).tanh().mean()).ok).toBe(true);
  });

  it('forwardNhwc: the same convolution over [N, H, W, C] (direct convolution), gradient-checked', () => {
    const conv = new Conv2d(2, 3, 3, { stride: 2, padding: 1, seed: 0 });
    const x = randn([2, 2, 5, 5], { seed: 1 });
    const y = conv.forwardNhwc(x.permute(0, 2, 3, 1));
    expect(y.shape).toEqual([2, 3, 3, 3]);
    const want = naiveConv(arr(x), [2, 2, 5, 5], arr(conv.weight), [3, 2, 3, 3], arr(conv.bias!), 2, 1);
    expectClose(y.permute(0, 3, 1, 2).dataSync(), want, 1e-5);
    const small = new Conv2d(2, 2, 2, { padding: 1, seed: 3 });
    const cells = randn([1, 3, 3, 2], { seed: 4 });
    expect(gradCheckModule(small, () => small.forwardNhwc(cells).tanh().mean()).ok).toBe(true);
  });
});

describe('PatchEmbedding', () => {
  it('refuses an image size that is not a number or [height, width]', () => {
    expect(() => new PatchEmbedding({ imageSize: 32 } as unknown as number, 16, 8)).toThrow(
      /PatchEmbedding: imageSize must be a number or \[height, width\], got \{"imageSize":32\}/,
    );
    expect(() => new PatchEmbedding(-32, 16, 8)).toThrow(ArgumentError);
    expect(() => new PatchEmbedding([32, 30], 16, 8)).toThrow(/not divisible by patch size 16/);
  });

  it('equals flattening each patch and applying the conv weights as a linear map', () => {
    const pe = new PatchEmbedding([4, 6], 2, 5, { inChannels: 2, seed: 0 });
    expect(pe.numPatches).toBe(6);
    const x = randn([1, 2, 4, 6], { seed: 1 });
    const y = pe.forward(x);
    expect(y.shape).toEqual([1, 6, 5]);
    const xs = arr(x);
    const w = arr(pe.proj.weight);
    const b = arr(pe.proj.bias!);
    const ys = arr(y);
    // Patch p = (row r, col q) in row-major order; output[p, d] = Σ_{c,i,j} x[c, 2r+i, 2q+j]·W[d,c,i,j] + b[d].
    for (let p = 0; p < 6; p++) {
      const [r, q] = [Math.floor(p / 3), p % 3];
      for (let d = 0; d < 5; d++) {
        let s = b[d]!;
        for (let c = 0; c < 2; c++)
          for (let i = 0; i < 2; i++)
            for (let j = 0; j < 2; j++)
              s += xs[(c * 4 + 2 * r + i) * 6 + 2 * q + j]! * w[((d * 2 + c) * 2 + i) * 2 + j]!;
        expect(ys[p * 5 + d]).toBeCloseTo(s, 5);
      }
    }
    expect(Object.keys(pe.stateDict())).toEqual(['proj.weight', 'proj.bias']);
    expect(gradCheckModule(pe, () => pe.forward(x).tanh().mean(), { maxEntries: 8 }).ok).toBe(true);
    expect(() => pe.forward(randn([1, 2, 4, 4]))).toThrow(
      /PatchEmbedding: input must be \[N, 2, 4, 6\], got \[1,2,4,4\]/,
    );
    expect(() => new PatchEmbedding(5, 2, 4)).toThrow(/not divisible/);
  });
});

describe('memory', () => {
  it('layers do not leak in a training loop', () => {
    const mlp = new MLP(4, [8, 2], { dropout: 0.1, seed: 0 });
    const conv = new Conv2d(1, 2, 2, { seed: 1 });
    const x = randn([3, 4], { seed: 2 });
    const img = randn([1, 1, 4, 4], { seed: 3 });
    const step = () =>
      scope(() => {
        mlp.forward(x).mean().add(conv.forward(img).mean()).backward();
        for (const p of [...mlp.parameters(), ...conv.parameters()]) p.assign(p.sub(p.grad!.mul(0.1)));
      });
    step();
    mlp.zeroGrad();
    conv.zeroGrad();
    const before = memory().tensors;
    for (let i = 0; i < 3; i++) {
      step();
      mlp.zeroGrad();
      conv.zeroGrad();
    }
    expect(memory().tensors).toBe(before);
  });
});

describe('gradient checks through activations and dropout', () => {
  it('GELU (exact and tanh), ReLU, SiLU and seeded Dropout match finite differences', () => {
    // Inputs kept away from ReLU's kink at 0.
    const x = tensor([-1.3, -0.4, 0.25, 0.8, 1.7, 2.2]);
    for (const act of [new GELU(), new GELU({ approximate: 'tanh' }), new ReLU(), new SiLU()]) {
      expect(
        gradCheck(
          (t) =>
            act
              .forward(t)
              .mul(tensor([1, -2, 3, 0.5, -1, 2]))
              .mean(),
          [x],
        ).ok,
      ).toBe(true);
    }
    // A fresh seeded Dropout per call draws the same mask every time, so the function is deterministic.
    const drop = (t: Tensor) => new Dropout(0.4, { seed: 3 }).forward(t).square().mean();
    expect(gradCheck(drop, [x]).ok).toBe(true);
    // And a wrong gradient is caught: ReLU evaluated on a detached copy has zero analytic gradient.
    expect(gradCheck((t) => new ReLU().forward(t.detach()).add(t.mul(0)).square().mean(), [x]).ok).toBe(
      false,
    );
  });
});
