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
import { FiLMFusion, registerFiLMFusion } from './index.js';

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

beforeAll(() => registerFiLMFusion());

describe('FiLMFusion, registered from outside @polymodal/fusion', () => {
  it('is listed and built by name and from plain JSON', () => {
    registerFiLMFusion(); // idempotent
    expect(listFusions()).toContain('film');
    const byName = createFusion('film', { inputDims: dims, target: 'image', outputDim: 6, seed: 0 });
    const byConfig = fusionFromConfig(
      JSON.parse('{"type":"film","inputDims":{"image":4,"text":3},"target":"text","outputDim":6}'),
    );
    for (const f of [byName, byConfig]) {
      expect(f).toBeInstanceOf(FiLMFusion);
      expect(f).toBeInstanceOf(FusionModule);
      expect(f.forward({ image: randn([5, 4]), text: randn([5, 3]) }).fused.shape).toEqual([5, 6]);
    }
    expect((byConfig as FiLMFusion).condition).toBe('image');
  });

  it('computes γ(c) ⊙ (W x + b) + β(c) (hand-computed)', () => {
    const f = new FiLMFusion({ inputDims: { image: 2, text: 1 }, target: 'image', outputDim: 1 });
    noGrad(() => {
      f.getParameter('projection.weight').assign(tensor([[1, -1]]));
      f.getParameter('projection.bias').assign(tensor([0.5]));
      f.getParameter('film.weight').assign(tensor([[2], [1]]));
      f.getParameter('film.bias').assign(tensor([0, -1]));
    });
    // h = 3 − 1 + 0.5 = 2.5; γ = 2·2 = 4; β = 2 − 1 = 1 → 4·2.5 + 1 = 11
    const out = f.forward({ image: tensor([[3, 1]]), text: tensor([[2]]) });
    expect(out.fused.item()).toBeCloseTo(11, 5);
  });

  it('gradients match central differences', () => {
    const f = new FiLMFusion({ inputDims: dims, target: 'image', outputDim: 3, seed: 1 });
    const w = randn([2, 3], { seed: 2 });
    const result = gradCheck(
      (image: Tensor, text: Tensor) => f.forward({ image, text }).fused.mul(w).mean(),
      [randn([2, 4], { seed: 3 }), randn([2, 3], { seed: 4 })],
    );
    expect(result.ok, JSON.stringify(result.worst)).toBe(true);
  });

  it('learns XOR across modalities (≥ 0.9) and is near chance with one modality shuffled (≤ 0.65)', () => {
    const film = fusionFromConfig({ type: 'film', inputDims: dims, target: 'image', outputDim: 2, seed: 0 });
    const trainSet = xorData(128, 1);
    const testSet = xorData(256, 2);
    train(film, trainSet, 150);
    expect(accuracy(film, testSet)).toBeGreaterThanOrEqual(0.9);
    expect(accuracy(film, testSet, 'text')).toBeLessThanOrEqual(0.65);
    expect(accuracy(film, testSet, 'image')).toBeLessThanOrEqual(0.65);
  });

  it('bad input and bad options throw typed errors', () => {
    const film = createFusion('film', { inputDims: dims, target: 'image', outputDim: 2 });
    expect(() => film.forward({ image: randn([2, 4]) })).toThrow(FusionInputError);
    expect(() => film.forward({ image: randn([2, 4]), text: randn([3, 3]) })).toThrow(/batch sizes differ/);
    expect(() => film.forward({ image: randn([2, 5]), text: randn([2, 3]) })).toThrow(
      /'image' must be \[B, 4\]/,
    );
    expect(() => createFusion('film', { inputDims: dims, target: 'audio', outputDim: 2 })).toThrow(
      ArgumentError,
    );
    expect(() =>
      createFusion('film', { inputDims: { a: 1, b: 1, c: 1 }, target: 'a', outputDim: 2 }),
    ).toThrow(/exactly 2 modalities/);
    expect(() => createFusion('flim', { inputDims: dims })).toThrow(UnknownFusionError);
  });
});
