/**
 * Pooling layers, coordinate channels and the feature-map-to-cells helper against PyTorch 1.13
 * (fixtures/spatial.json from scripts/make-fixtures.py: outputs and input gradients for a fixed
 * upstream gradient; the coordinate reference there is written from the definition with
 * `torch.linspace`), plus hand-checked coordinates, gradient checks and bad input.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gradCheck, randn, ShapeError, setBackend, type Tensor, tensor } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AddCoords,
  addCoordChannels,
  CoordConv2d,
  coordinateGrid,
  featureMapToSequence,
} from './coord-channels.js';
import { loadModule } from './node.js';
import { AvgPool2d, GlobalAvgPool2d, GlobalMaxPool2d, MaxPool2d } from './pooling.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

interface Case {
  output: number[];
  outputShape: number[];
  upstream?: number[];
  gradInput?: number[];
}
interface Spatial {
  input: number[];
  inputShape: number[];
  cases: Record<string, Case>;
}
const fixture = async () => JSON.parse(await readFile(join(FIXTURES, 'spatial.json'), 'utf8')) as Spatial;

function expectClose(actual: Tensor, expected: number[], tol: number, what: string): void {
  const a = actual.dataSync();
  expect(a.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(a[i]! - expected[i]!));
  expect(worst, what).toBeLessThanOrEqual(tol);
}

const layers: [string, (x: Tensor) => Tensor][] = [
  ['maxPool2d(3, stride 2, padding 1)', (x) => new MaxPool2d(3, { stride: 2, padding: 1 }).forward(x)],
  ['avgPool2d(2)', (x) => new AvgPool2d(2).forward(x)],
  ['AdaptiveAvgPool2d(1)', (x) => new GlobalAvgPool2d({ keepDim: true }).forward(x)],
  ['AdaptiveMaxPool2d(1)', (x) => new GlobalMaxPool2d({ keepDim: true }).forward(x)],
  ['addCoordChannels', (x) => addCoordChannels(x)],
  ['addCoordChannels withRadius', (x) => new AddCoords({ withRadius: true }).forward(x)],
  ['featureMapToSequence coords', (x) => featureMapToSequence(x, { coords: true })],
  ['addCoordChannels 1x1', (x) => addCoordChannels(x.slice(2, 0, 1).slice(3, 0, 1), { withRadius: true })],
];

afterAll(() => setBackend('wasm'));

describe.each(['cpu', 'wasm'])('PyTorch golden values on %s', (backend) => {
  it.each(layers)('%s: output and input gradient', async (name, run) => {
    setBackend(backend);
    const f = await fixture();
    const want = f.cases[name]!;
    const x = tensor(f.input, { shape: f.inputShape, requiresGrad: true });
    const y = run(x);
    expect(y.shape).toEqual(want.outputShape);
    expectClose(y, want.output, 1e-6, 'output');
    y.mul(tensor(want.upstream!, { shape: y.shape }))
      .sum()
      .backward();
    expectClose(x.grad!, want.gradInput!, 1e-5, 'input gradient');
  });

  it('CoordConv2d loads the torch state dict (conv.weight, conv.bias) and matches its output', async () => {
    setBackend(backend);
    const f = await fixture();
    const layer = new CoordConv2d(3, 4, 3, { stride: 2, padding: 1, withRadius: true });
    expect(await loadModule(join(FIXTURES, 'coord-conv.safetensors'), layer)).toEqual({
      missingKeys: [],
      unexpectedKeys: [],
    });
    expectClose(
      layer.forward(tensor(f.input, { shape: f.inputShape })),
      f.cases.CoordConv2d!.output,
      1e-5,
      'out',
    );
  });
});

describe('coordinates', () => {
  it('x runs along columns, y along rows, both over [−1, 1]; the radius is √(x² + y²)', () => {
    setBackend('cpu');
    const g = coordinateGrid(3, 2, { withRadius: true });
    expect(g.shape).toEqual([3, 3, 2]);
    const v = Array.from(g.dataSync());
    expect(v.slice(0, 6)).toEqual([-1, 1, -1, 1, -1, 1]); // x: column −1, +1 on every row
    expect(v.slice(6, 12)).toEqual([-1, -1, 0, 0, 1, 1]); // y: rows −1, 0, +1
    expect(v.slice(12)).toEqual([Math.SQRT2, Math.SQRT2, 1, 1, Math.SQRT2, Math.SQRT2].map(Math.fround));
    expect(Array.from(coordinateGrid(1, 1).dataSync())).toEqual([0, 0]);
  });

  it('featureMapToSequence puts cell (i, j) at position i·W + j, features then x and y', () => {
    setBackend('cpu');
    // Channel 0 holds 10·row + column, so each cell says where it came from.
    const x = tensor(
      Float32Array.from({ length: 6 }, (_, k) => 10 * Math.floor(k / 3) + (k % 3)),
      {
        shape: [1, 1, 2, 3],
      },
    );
    const cells = featureMapToSequence(x, { coords: true });
    expect(cells.shape).toEqual([1, 6, 3]);
    expect(Array.from(cells.dataSync())).toEqual([
      0, -1, -1, 1, 0, -1, 2, 1, -1, 10, -1, 1, 11, 0, 1, 12, 1, 1,
    ]);
    expect(featureMapToSequence(x).shape).toEqual([1, 6, 1]);
  });

  it('gradients reach the features (central differences); CoordConv2d trains its conv', () => {
    setBackend('cpu');
    const w = randn([2, 12, 5], { seed: 2 });
    const r = gradCheck(
      (x: Tensor) => featureMapToSequence(x, { coords: true, withRadius: true }).mul(w).sum(),
      [randn([2, 2, 3, 4], { seed: 1 })],
    );
    expect(r.ok, JSON.stringify(r.worst)).toBe(true);
    const layer = new CoordConv2d(2, 3, 3, { padding: 1, seed: 0 });
    expect(layer.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([
      ['conv.weight', [3, 4, 3, 3]],
      ['conv.bias', [3]],
    ]);
  });
});

describe('bad input', () => {
  it('names the helper and the shape', () => {
    expect(() => addCoordChannels(randn([2, 3, 4]))).toThrow(ShapeError);
    expect(() => featureMapToSequence(randn([2, 3]))).toThrow(
      /featureMapToSequence: input must be a float32 \[N, C, H, W\] feature map, got float32 \[2,3\]/,
    );
    expect(() => new GlobalAvgPool2d().forward(randn([2, 3, 4]))).toThrow(/globalAvgPool2d.*\[2,3,4\]/);
    expect(() => new MaxPool2d(0)).toThrow(/kernelSize and stride must be a positive integer/);
  });
});
