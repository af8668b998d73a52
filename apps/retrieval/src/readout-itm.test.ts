import { gradCheckModule } from '@polymodal/nn';
import { Generator, randn, type Tensor, tensor, valueAndGrad } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { READOUT_ITM_INPUT, ReadoutItm } from './readout-itm.js';

const rows = (t: Tensor) => {
  const [n, d] = t.shape as [number, number];
  const v = Array.from(t.dataSync());
  return Array.from({ length: n }, (_, i) => v.slice(i * d, (i + 1) * d));
};
type Layer = { w: number[][]; b: number[] };
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const softmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, x) => a + x, 0);
  return e.map((x) => x / s);
};
const linear = (x: number[], { w, b }: Layer) =>
  w.map((row, o) => row.reduce((s, v, i) => s + v * x[i]!, b[o]!));
const relu = (xs: number[]) => xs.map((x) => Math.max(0, x));

/**
 * The twin's `ReadoutITM.forward` (torch_twin.py) for one pair, in float64 plain JS, with its
 * literal column numbers: image read-out [6 · 8], caption read-out [26].
 */
function reference(img: number[], txt: number[], layers: Layer[]): number[] {
  const feat = Array.from({ length: 6 }, (_, c) => {
    const u = img.slice(c * 8, c * 8 + 8);
    return [sigmoid(u[0]!), ...softmax(u.slice(1, 3)), ...softmax(u.slice(3, 6)), u[6]!, u[7]!];
  });
  const pick = (a: number, b: number) => {
    const p = softmax(txt.slice(a, b));
    return Array.from({ length: 8 }, (_, j) => feat.reduce((s, row, c) => s + p[c]! * row[j]!, 0));
  };
  const fs = pick(2, 8);
  const fo = pick(13, 19);
  const cap = (
    [
      [0, 2],
      [8, 11],
      [11, 13],
      [19, 22],
      [22, 26],
    ] as const
  ).flatMap(([a, b]) => softmax(txt.slice(a, b)));
  const x = [...fs, ...fo, fo[6]! - fs[6]!, fo[7]! - fs[7]!, ...cap];
  return linear(relu(linear(relu(linear(x, layers[0]!)), layers[1]!)), layers[2]!);
}

const layersOf = (head: ReadoutItm): Layer[] => {
  const p = Object.fromEntries(head.namedParameters());
  return [0, 2, 4].map((k) => ({
    w: rows(p[`net.${k}.weight`]!),
    b: Array.from(p[`net.${k}.bias`]!.dataSync()),
  }));
};

describe('ReadoutItm (the twin’s ReadoutITM)', () => {
  const g = new Generator(21);
  const head = new ReadoutItm(g, 8);
  const img = randn([3, 48], { generator: g }).mul(2);
  const txt = randn([3, 26], { generator: g }).mul(2);
  // A fixed linear functional of the logits, so that both columns carry gradient.
  const coef = tensor([0.7, -1.3, 0.4, 0.9, -0.5, 1.1], { shape: [3, 2] });
  const coefs = rows(coef);
  const refLoss = (im: number[][], tx: number[][], layers: Layer[]) =>
    im.reduce((s, x, i) => s + reference(x, tx[i]!, layers).reduce((a, v, j) => a + v * coefs[i]![j]!, 0), 0);

  it('is 32 features into an MLP of 3 layers, as the twin (8 + 8 + 2 + 14)', () => {
    expect(READOUT_ITM_INPUT).toBe(32);
    expect(head.namedParameters().map(([n, t]) => `${n} [${t.shape}]`)).toEqual([
      'net.0.weight [8,32]',
      'net.0.bias [8]',
      'net.2.weight [8,8]',
      'net.2.bias [8]',
      'net.4.weight [2,8]',
      'net.4.bias [2]',
    ]);
  });

  it('forward equals the float64 reference', () => {
    const got = rows(head.forward(img, txt));
    const layers = layersOf(head);
    const ref = rows(img).map((x, i) => reference(x, rows(txt)[i]!, layers));
    got.forEach((r, i) =>
      r.forEach((v, j) => {
        expect(Math.abs(v - ref[i]![j]!)).toBeLessThan(1e-5);
      }),
    );
    // Not a degenerate check: the pairs get different logits.
    expect(Math.abs(ref[0]![1]! - ref[1]![1]!)).toBeGreaterThan(1e-3);
  });

  it('a caption sure of its colours reads exactly those colours’ rows of the image', () => {
    // Subject colour 4, object colour 1 with near-certainty; swapping which colour the image has
    // where changes the logits, as only those two rows are read.
    const t = rows(txt)[0]!.slice();
    for (let c = 0; c < 6; c++) {
      t[2 + c] = c === 4 ? 30 : -30;
      t[13 + c] = c === 1 ? 30 : -30;
    }
    const im = rows(img)[0]!.slice();
    const other = im.slice();
    for (let j = 0; j < 8; j++) other[8 * 3 + j] = 5; // colour 3 is not read
    const logits = (x: number[]) =>
      Array.from(head.forward(tensor([x], { shape: [1, 48] }), tensor([t], { shape: [1, 26] })).dataSync());
    expect(logits(other)).toEqual(logits(im));
    const moved = im.slice();
    moved[8 * 4 + 6] = moved[8 * 4 + 6]! + 1; // the subject’s x
    expect(Math.abs(logits(moved)[1]! - logits(im)[1]!)).toBeGreaterThan(1e-4);
  });

  it('gradients w.r.t. both read-outs and a weight agree with float64 finite differences', () => {
    const f = (a: Tensor, b: Tensor) => head.forward(a, b).mul(coef).sum();
    const { grads } = valueAndGrad(f)(img, txt);
    const layers = layersOf(head);
    const inputs = [rows(img), rows(txt)];
    const eps = 1e-5;
    let checked = 0;
    inputs.forEach((m, k) => {
      m.forEach((row, r) =>
        row.forEach((_, c) => {
          const at = (delta: number) => {
            const copy = inputs.map((x) => x.map((v) => [...v]));
            copy[k]![r]![c]! += delta;
            return refLoss(copy[0]!, copy[1]!, layers);
          };
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          const got = grads[k]!.dataSync()[r * row.length + c]!;
          expect(Math.abs(got - fd), `input ${k} [${r}, ${c}]`).toBeLessThan(1e-4 + 1e-3 * Math.abs(fd));
          checked++;
        }),
      );
    });
    expect(checked).toBe(3 * 48 + 3 * 26);
    // The middle Linear's weight: autograd against the float64 reference moved entry by entry.
    head.zeroGrad();
    f(img, txt).backward();
    const p = Object.fromEntries(head.namedParameters());
    const analytic = p['net.2.weight']!.grad!.dataSync();
    let nonZero = 0;
    for (let o = 0; o < 8; o++) {
      for (let i = 0; i < 8; i++) {
        const at = (delta: number) => {
          const moved = layers.map((l) => ({ w: l.w.map((v) => [...v]), b: l.b }));
          moved[1]!.w[o]![i]! += delta;
          return refLoss(inputs[0]!, inputs[1]!, moved);
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(analytic[o * 8 + i]! - fd), `net.2.weight [${o}, ${i}]`).toBeLessThan(
          1e-4 + 1e-3 * Math.abs(fd),
        );
        if (Math.abs(fd) > 1e-3) nonZero++;
      }
    }
    expect(nonZero).toBeGreaterThan(8);
    head.zeroGrad();
    // And the library's own check (float32 central differences) on the first layer's weight.
    const lib = gradCheckModule(head, () => f(img, txt), { parameters: ['net.0.weight'], skipKinks: true });
    expect(lib.ok, JSON.stringify(lib.worst)).toBe(true);
  });

  it('refuses read-outs of the wrong width, naming both shapes', () => {
    expect(() => head.forward(randn([2, 40]), randn([2, 26]))).toThrow(
      /expected image read-outs \[B, 48\] and caption read-outs \[B, 26\], got \[2,40\] and \[2,26\]/,
    );
  });
});
