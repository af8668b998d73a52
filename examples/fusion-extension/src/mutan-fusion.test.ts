/**
 * The extension works through the public API alone: built by name and from JSON via the registry,
 * trained on the two-modality XOR toy task, and validated by the base class.
 */
import {
  createFusion,
  FusionInputError,
  FusionModule,
  fusionFromConfig,
  listFusions,
  UnknownFusionError,
} from '@polymodal/fusion';
import {
  ArgumentError,
  crossEntropy,
  Generator,
  gradCheck,
  keep,
  noGrad,
  randn,
  randperm,
  scope,
  type Tensor,
  tensor,
  zeros,
} from '@polymodal/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { MutanFusion, registerMutanFusion } from './index.js';

const dims = { image: 4, text: 3 };

/**
 * Bit a lives only in `image`, bit b only in `text` (±u + N(0, 0.5²) noise), label = a XOR b, so a
 * single modality carries no information about the label.
 */
function xorData(n: number, seed: number): { inputs: Record<string, Tensor>; labels: Tensor } {
  const g = new Generator(seed);
  const u = new Generator(99);
  const a = Array.from({ length: n }, () => (g.uniform() < 0.5 ? 0 : 1));
  const b = Array.from({ length: n }, () => (g.uniform() < 0.5 ? 0 : 1));
  const features = (bits: number[], d: number) => {
    const dir = Array.from({ length: d }, () => (u.uniform() < 0.5 ? -1 : 1));
    return tensor(
      Float32Array.from(
        { length: n * d },
        (_, k) => (2 * bits[Math.floor(k / d)]! - 1) * dir[k % d]! + 0.5 * g.normal(),
      ),
      { shape: [n, d] },
    );
  };
  return {
    inputs: { image: features(a, dims.image), text: features(b, dims.text) },
    labels: tensor(
      a.map((x, i) => x ^ b[i]!),
      { dtype: 'int32' },
    ),
  };
}

/** Full-batch Adam on cross-entropy with `fused` as the 2-class logits. */
function train(model: FusionModule, data: ReturnType<typeof xorData>, steps: number, lr = 0.05): void {
  const params = model.parameters();
  const m = params.map((p) => keep(zeros(p.shape)));
  const v = params.map((p) => keep(zeros(p.shape)));
  for (let t = 1; t <= steps; t++) {
    model.zeroGrad();
    scope(() => crossEntropy(model.forward(data.inputs).fused, data.labels).backward());
    noGrad(() =>
      scope(() =>
        params.forEach((p, i) => {
          const g = p.grad!;
          m[i]!.assign(m[i]!.mul(0.9).add(g.mul(0.1)));
          v[i]!.assign(v[i]!.mul(0.999).add(g.square().mul(0.001)));
          const mHat = m[i]!.div(1 - 0.9 ** t);
          const vHat = v[i]!.div(1 - 0.999 ** t);
          p.assign(p.sub(mHat.div(vHat.sqrt().add(1e-8)).mul(lr)));
        }),
      ),
    );
  }
}

function accuracy(model: FusionModule, data: ReturnType<typeof xorData>, shuffle?: string): number {
  return noGrad(() =>
    scope(() => {
      const inputs = { ...data.inputs };
      if (shuffle)
        inputs[shuffle] = inputs[shuffle]!.indexSelect(0, randperm(data.labels.shape[0]!, { seed: 5 }));
      return model.forward(inputs).fused.argmax(-1).eq(data.labels).float().mean().item();
    }),
  );
}

beforeAll(() => registerMutanFusion());

describe('MutanFusion, registered from outside @polymodal/fusion', () => {
  it('is listed and built by name and from plain JSON; not a built-in', () => {
    registerMutanFusion(); // idempotent
    expect(listFusions()).toContain('mutan');
    expect(listFusions()).toContain('film'); // FiLM is built in now; this example shows another
    const byName = createFusion('mutan', { inputDims: dims, rank: 2, outputDim: 6, seed: 0 });
    const byConfig = fusionFromConfig(
      JSON.parse('{"type":"mutan","inputDims":{"image":4,"text":3},"hiddenDim":5,"rank":3,"outputDim":6}'),
    );
    for (const f of [byName, byConfig]) {
      expect(f).toBeInstanceOf(MutanFusion);
      expect(f).toBeInstanceOf(FusionModule);
      expect(f.forward({ image: randn([5, 4]), text: randn([5, 3]) }).fused.shape).toEqual([5, 6]);
    }
    expect((byConfig as MutanFusion).rank).toBe(3);
    expect(byConfig.getParameter('core.text.weight').shape).toEqual([3 * 6, 5]);
  });

  it('computes W_o·Σ_r (W^r_a tanh(W_a a)) ⊙ (W^r_b tanh(W_b b)) (hand-computed)', () => {
    const f = new MutanFusion({ inputDims: { image: 1, text: 1 }, hiddenDim: 1, rank: 2, outputDim: 1 });
    const set = (name: string, v: number[]) =>
      f.getParameter(name).assign(tensor(v, { shape: f.getParameter(name).shape }));
    noGrad(() => {
      set('factors.image.weight', [1]);
      set('factors.image.bias', [0]);
      set('factors.text.weight', [0.5]);
      set('factors.text.bias', [0]);
      set('core.image.weight', [1, 2]); // rank 1 and rank 2 maps
      set('core.image.bias', [0, 1]);
      set('core.text.weight', [3, -1]);
      set('core.text.bias', [0, 0]);
      set('output.weight', [2]);
      set('output.bias', [0.5]);
    });
    // ã = tanh(1), b̃ = tanh(0.5·2) = tanh(1); z = (ã)(3ã) + (2ã + 1)(−ã) = 3ã² − 2ã² − ã = ã² − ã.
    const ta = Math.tanh(1);
    const out = f.forward({ image: tensor([[1]]), text: tensor([[2]]) });
    expect(out.fused.item()).toBeCloseTo(2 * (ta * ta - ta) + 0.5, 5);
  });

  it('pools a sequence over its real tokens (padding never changes fused)', () => {
    const f = new MutanFusion({ inputDims: dims, outputDim: 4, seed: 2 });
    const text = randn([2, 3, 3], { seed: 5 });
    const mask = tensor(
      [
        [true, false, false],
        [true, true, true],
      ],
      { dtype: 'bool' },
    );
    const noisy = text.add(tensor([0, 1, 1, 0, 0, 0], { shape: [2, 3, 1] }).mul(100));
    const image = randn([2, 4], { seed: 6 });
    const a = f.forward({ image, text }, { text: mask }).fused.dataSync();
    const b = f.forward({ image, text: noisy }, { text: mask }).fused.dataSync();
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 5));
  });

  it('gradients match central differences', () => {
    const f = new MutanFusion({ inputDims: dims, rank: 2, outputDim: 3, seed: 1 });
    const w = randn([2, 3], { seed: 2 });
    const result = gradCheck(
      (image: Tensor, text: Tensor) => f.forward({ image, text }).fused.mul(w).mean(),
      [randn([2, 4], { seed: 3 }), randn([2, 3], { seed: 4 })],
    );
    expect(result.ok, JSON.stringify(result.worst)).toBe(true);
  });

  it('learns XOR across modalities (≥ 0.9) and is near chance with one modality shuffled (≤ 0.65)', () => {
    const mutan = fusionFromConfig({ type: 'mutan', inputDims: dims, rank: 2, outputDim: 2, seed: 0 });
    const trainSet = xorData(128, 1);
    const testSet = xorData(256, 2);
    train(mutan, trainSet, 150);
    expect(accuracy(mutan, testSet)).toBeGreaterThanOrEqual(0.9);
    expect(accuracy(mutan, testSet, 'text')).toBeLessThanOrEqual(0.65);
    expect(accuracy(mutan, testSet, 'image')).toBeLessThanOrEqual(0.65);
  });

  it('bad input and bad options throw typed errors', () => {
    const mutan = createFusion('mutan', { inputDims: dims, outputDim: 2 });
    expect(() => mutan.forward({ image: randn([2, 4]) })).toThrow(FusionInputError);
    expect(() => mutan.forward({ image: randn([2, 4]), text: randn([3, 3]) })).toThrow(/batch sizes differ/);
    expect(() => mutan.forward({ image: randn([2, 5]), text: randn([2, 3]) })).toThrow(/'image' must be/);
    expect(() => createFusion('mutan', { inputDims: dims, outputDim: 2, rank: 0 })).toThrow(ArgumentError);
    expect(() => createFusion('mutan', { inputDims: dims })).toThrow(/outputDim must be a positive integer/);
    expect(() => createFusion('mutan', { inputDims: { a: 1, b: 1, c: 1 }, outputDim: 2 })).toThrow(
      /exactly 2 modalities/,
    );
    expect(() => createFusion('mutna', { inputDims: dims })).toThrow(UnknownFusionError);
  });
});
