import { gradCheckModule } from '@polymodal/nn';
import { gradCheck, memory, randn, scope, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { STRATEGIES } from '../test/strategies.js';
import type { FusionInputs, FusionModule } from './index.js';

/** Random inputs for a strategy: `[B, L, D]` for sequence strategies, else `[B, D]`. */
function inputsFor(
  sequence: boolean,
  dims: Record<string, number>,
  batch: number,
  seqLen: number,
  seed: number,
  requiresGrad = false,
): FusionInputs {
  return Object.fromEntries(
    Object.entries(dims).map(([m, d], k) => [
      m,
      randn(sequence ? [batch, seqLen + k, d] : [batch, d], { seed: seed + k, requiresGrad }),
    ]),
  );
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

const absSum = (t: Tensor | null): number =>
  t ? Array.from(t.dataSync()).reduce((s, v) => s + Math.abs(v), 0) : 0;

describe.each(STRATEGIES)('$name', (spec) => {
  it('output shapes for several widths and sequence lengths', () => {
    for (const [dims, seqLen, batch] of [
      [{ image: 3, text: 5 }, 2, 2],
      [{ image: 7, text: 4 }, 4, 3],
      [{ audio: 2, image: 6, text: 3 }, 3, 1],
    ] as const) {
      if (spec.name === 'intermediate' && Object.keys(dims).length !== 2) continue; // two streams only
      const fusion = spec.build(dims, 0, seqLen + 2);
      const out = scope(() => fusion.forward(inputsFor(spec.sequence, dims, batch, seqLen, 1)));
      expect(out.fused.shape).toEqual([batch, fusion.outputDim]);
      expect(fusion.modalities).toEqual(Object.keys(dims).sort());
      expect(out.fused.dataSync().every(Number.isFinite)).toBe(true);
      if (out.sequence) {
        expect(out.sequence.shape[0]).toBe(batch);
        expect(out.sequence.shape[2]).toBe(fusion.outputDim);
      }
    }
  });

  it('forwardShared equals forward on the gathered rows: outputs and gradients', () => {
    const dims = { image: 4, text: 3 };
    const rows = tensor([1, 0, 1, 1], { dtype: 'int32' });
    const image = randn(spec.sequence ? [2, 3, 4] : [2, 4], { seed: 3, requiresGrad: true });
    const text = randn(spec.sequence ? [4, 2, 3] : [4, 3], { seed: 4 });
    const w = randn([4, spec.build(dims, 6, 3).outputDim], { seed: 8 });
    const run = (shared: boolean) => {
      const fusion = spec.build(dims, 6, 3);
      image.zeroGrad();
      const fused = scope(() => {
        const out = shared
          ? fusion.forwardShared({ image, text }, { image: rows })
          : fusion.forward({ image: image.indexSelect(0, rows), text });
        out.fused.mul(w).sum().backward();
        return out.fused;
      });
      return { fused: fused.dataSync(), image: image.grad!.dataSync(), params: fusion.namedParameters() };
    };
    const gathered = run(false);
    const shared = run(true);
    expect(maxDiff(shared.fused, gathered.fused)).toBeLessThan(1e-5);
    expect(maxDiff(shared.image, gathered.image)).toBeLessThan(1e-4);
    for (const [i, [name, p]] of shared.params.entries())
      expect(maxDiff(p.grad!.dataSync(), gathered.params[i]![1].grad!.dataSync()), name).toBeLessThan(1e-4);
  });

  it('gradient reaches every parameter and every input modality (no dead branch)', () => {
    const dims = { image: 4, text: 3 };
    const fusion = spec.build(dims, 2, 3);
    const inputs = inputsFor(spec.sequence, dims, 3, 2, 5, true);
    const w = randn([3, fusion.outputDim], { seed: 9 });
    scope(() => fusion.forward(inputs).fused.mul(w).sum().backward());
    const dead = fusion
      .namedParameters()
      .filter(([, p]) => !(absSum(p.grad) > 0))
      .map(([n]) => n);
    expect(dead).toEqual([]);
    for (const [m, x] of Object.entries(inputs)) expect(absSum(x.grad), m).toBeGreaterThan(0);
  });

  it('gradCheck: input and parameter gradients match central differences', () => {
    const dims = { image: 3, text: 2 };
    const fusion = spec.build(dims, 3, 3);
    fusion.eval();
    const base = inputsFor(spec.sequence, dims, 2, 2, 11);
    const w = randn([2, fusion.outputDim], { seed: 13 });
    const loss = (image: Tensor, text: Tensor) => fusion.forward({ image, text }).fused.mul(w).mean();
    const inputs = [base.image!, base.text!];
    const checked = gradCheck(loss, inputs, { atol: 2e-3 });
    expect(checked.ok, JSON.stringify(checked.worst)).toBe(true);
    const params = gradCheckModule(fusion, () => loss(inputs[0]!, inputs[1]!), { maxEntries: 4, atol: 2e-3 });
    expect(params.ok, `${params.parameter} ${JSON.stringify(params.worst)}`).toBe(true);
  });

  it('the same seed builds the same weights and outputs; another seed, other weights', () => {
    const dims = { image: 4, text: 3 };
    const inputs = inputsFor(spec.sequence, dims, 2, 2, 21);
    const [a, b, c] = [7, 7, 8].map((seed) => spec.build(dims, seed, 3)) as [
      FusionModule,
      FusionModule,
      FusionModule,
    ];
    const flat = (m: FusionModule) => m.parameters().flatMap((p) => Array.from(p.dataSync()));
    expect(flat(b)).toEqual(flat(a));
    expect(flat(c)).not.toEqual(flat(a));
    const fused = (m: FusionModule) => Array.from(scope(() => m.forward(inputs).fused.dataSync()));
    expect(fused(b)).toEqual(fused(a));
  });

  it('does not leak tensors when called in a loop', () => {
    const dims = { image: 3, text: 2 };
    const fusion = spec.build(dims, 4, 3);
    const inputs = inputsFor(spec.sequence, dims, 2, 2, 17);
    scope(() => fusion.forward(inputs).fused.sum().backward());
    fusion.zeroGrad();
    const before = memory().tensors;
    for (let i = 0; i < 3; i++) scope(() => fusion.forward(inputs).fused.sum().backward());
    fusion.zeroGrad();
    expect(memory().tensors).toBe(before);
  });
});

it('gradCheck catches a wrong gradient (a detached modality)', () => {
  const spec = STRATEGIES.find((s) => s.name === 'concat')!;
  const fusion = spec.build({ image: 3, text: 2 }, 0);
  const w = randn([2, 8], { seed: 1 });
  const broken = (image: Tensor, text: Tensor) =>
    fusion.forward({ image: image.detach(), text }).fused.mul(w).mean();
  const result = gradCheck(broken, [randn([2, 3], { seed: 2 }), randn([2, 2], { seed: 3 })]);
  expect(result.ok).toBe(false);
  expect(result.worst.input).toBe(0);
});
