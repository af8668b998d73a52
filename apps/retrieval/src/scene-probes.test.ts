import { Generator, randn, type Tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { sceneTargets } from './scene-batch.js';
import { scenePairCaptions } from './scene-captions.js';
import { SCENE } from './scene-fixture.js';
import { SceneProbes } from './scene-probes.js';
import { TEXT_READOUT_SLICES } from './scene-targets.js';

const matrix = (t: Tensor) => {
  const [n, d] = t.shape as [number, number];
  const v = Array.from(t.dataSync());
  return Array.from({ length: n }, (_, i) => v.slice(i * d, (i + 1) * d));
};
/** Linear layer in float64: W [out, in], b [out]. */
const linear = (x: number[], w: number[][], b: number[]) =>
  w.map((row, o) => row.reduce((s, v, i) => s + v * x[i]!, b[o]!));
const logSoftmaxAt = (xs: number[], k: number) => {
  const m = Math.max(...xs);
  return xs[k]! - m - Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

describe('the scene read-out losses equal the twin’s formulas (float64 reference)', () => {
  const g = new Generator(11);
  const probes = new SceneProbes(8, 8, g);
  const second = { ...SCENE, objects: SCENE.objects.slice(0, 2) };
  const scenes = [SCENE, second];
  const captions = scenePairCaptions(SCENE).slice(0, 3);
  const targets = sceneTargets(scenes, captions, 2);
  const w = (l: { weight: Tensor; bias: Tensor | null }) => ({
    w: matrix(l.weight),
    b: Array.from(l.bias!.dataSync()),
  });

  it('read-outs: BCE(present) + CE(size) + CE(shape) + x/y error; mean of the caption’s 7 CEs', () => {
    const img = randn([2, 8], { generator: g });
    const txt = randn([3, 8], { generator: g });
    const got = probes.readoutLoss(img, txt, targets).item();
    const { w: wi, b: bi } = w(probes.imageReadout);
    let bce = 0;
    let sizeSum = 0;
    let shapeSum = 0;
    let counted = 0;
    let xy = 0;
    let present = 0;
    matrix(img).forEach((x, i) => {
      const o = linear(x, wi, bi);
      for (let c = 0; c < 6; c++) {
        const u = o.slice(c * 8, c * 8 + 8);
        const p = targets.present[i * 6 + c]!;
        bce += (1 - p) * u[0]! + softplus(-u[0]!);
        if (p) {
          sizeSum -= logSoftmaxAt(u.slice(1, 3), targets.size[i * 6 + c]!);
          shapeSum -= logSoftmaxAt(u.slice(3, 6), targets.shape[i * 6 + c]!);
          counted++;
          xy += (u[6]! - targets.xy[i * 12 + 2 * c]!) ** 2 + (u[7]! - targets.xy[i * 12 + 2 * c + 1]!) ** 2;
          present++;
        }
      }
    });
    const image = bce / 12 + sizeSum / counted + shapeSum / counted + xy / present;
    const { w: wt, b: bt } = w(probes.textReadout);
    let text = 0;
    matrix(txt).forEach((x, p) => {
      const o = linear(x, wt, bt);
      TEXT_READOUT_SLICES.forEach(([a, b], k) => {
        text -= logSoftmaxAt(o.slice(a, b), targets.captions[p * 7 + k]!) / 3;
      });
    });
    expect(got).toBeCloseTo(image + text / 7, 4);
  });

  it('cells: mean cross-entropy over every cell, empty ones included', () => {
    const cells = randn([2, 4, 8], { generator: g });
    const got = probes.cellLoss(cells, targets.cellKinds).item();
    const { w: wc, b: bc } = w(probes.cells);
    const flat = matrix(cells.reshape([8, 8]));
    const ref = flat.reduce((s, x, k) => s - logSoftmaxAt(linear(x, wc, bc), targets.cellKinds[k]!), 0) / 8;
    expect(got).toBeCloseTo(ref, 4);
    // 2 × 2 grid of the hand-worked scene: A (10, 10) → cell 0, B (12, 40) → 2, C (40, 12) → 1.
    expect(Array.from(targets.cellKinds.slice(0, 4))).toEqual([31, 9, 2, 0]);
  });
});
