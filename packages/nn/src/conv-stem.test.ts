/**
 * ConvStem: grids against sides worked out by hand (and against the conv's own output), the
 * coordinate columns read through an identity projection, gradients against central differences,
 * the state-dict keys the apps' saved bundles use, and bad options.
 */
import {
  ArgumentError,
  getBackend,
  randn,
  ShapeError,
  scope,
  setBackend,
  tensor,
  zeros,
} from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { ConvStem, type ConvStemLayer } from './conv-stem.js';
import { featureMapToSequence } from './coord-channels.js';
import { gradCheckModule } from './grad-check-module.js';

const layersOf = (...spec: [number, number][]): ConvStemLayer[] =>
  spec.map(([channels, stride]) => ({ channels, stride }));

describe('ConvStem', () => {
  // Each 3×3 layer with padding 1 maps a side s to ⌊(s − 1) / stride⌋ + 1, worked out by hand here.
  it.each([
    { size: 48, layers: layersOf([8, 2], [8, 2], [8, 2]), grid: [6, 6] }, // 48 → 24 → 12 → 6
    { size: 24, layers: layersOf([4, 2], [6, 2]), grid: [6, 6] }, // 24 → 12 → 6
    { size: 7, layers: layersOf([4, 2], [4, 1]), grid: [4, 4] }, // 7 → 4 → 4
    { size: 5, layers: layersOf([3, 3]), grid: [2, 2] }, // 5 → 2
    { size: 9, layers: layersOf([4, 1]), grid: [9, 9] }, // stride 1 keeps the side
    { size: [10, 7] as [number, number], layers: layersOf([4, 2], [4, 2]), grid: [3, 2] }, // 10 → 5 → 3, 7 → 4 → 2
  ])('$size px through $layers.length layer(s) gives a $grid grid', ({ size, layers, grid }) => {
    const stem = new ConvStem(size, { layers, outputDim: 5, seed: 0 });
    expect(stem.grid).toEqual(grid);
    const [h, w] = typeof size === 'number' ? [size, size] : size;
    const x = randn([2, 3, h, w], { seed: 1 });
    const last = layers[layers.length - 1]!.channels;
    expect(stem.featureMap(x).shape).toEqual([2, last, ...grid]);
    expect(stem.channels).toBe(last);
    expect(stem.forward(x).shape).toEqual([2, grid[0]! * grid[1]!, 5]);
  });

  it('appends x then y in [−1, 1] to every cell before the projection, or nothing without coordinates', () => {
    // 6×5 px, one stride-2 layer → a 3×3 grid; an identity projection shows what it was given.
    const stem = new ConvStem([6, 5], { layers: layersOf([2, 2]), outputDim: 4, seed: 2 });
    expect(stem.grid).toEqual([3, 3]);
    stem.project.weight.assign(tensor([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], { shape: [4, 4] }));
    stem.project.bias!.assign(zeros([4]));
    const x = randn([2, 3, 6, 5], { seed: 3 });
    const cells = stem.forward(x);
    expect(cells.shape).toEqual([2, 9, 4]);
    const v = cells.dataSync();
    const xs = [-1, 0, 1, -1, 0, 1, -1, 0, 1]; // column position, row-major cells
    const ys = [-1, -1, -1, 0, 0, 0, 1, 1, 1]; // row position
    for (let b = 0; b < 2; b++) {
      for (let i = 0; i < 9; i++) {
        expect(v[(b * 9 + i) * 4 + 2]).toBeCloseTo(xs[i]!, 6);
        expect(v[(b * 9 + i) * 4 + 3]).toBeCloseTo(ys[i]!, 6);
      }
    }
    // The same as featureMapToSequence with coords on the feature map.
    const reference = featureMapToSequence(stem.featureMap(x), { coords: true }).dataSync();
    expect(Array.from(v).every((a, i) => Math.abs(a - reference[i]!) < 1e-6)).toBe(true);

    const plain = new ConvStem(6, { layers: layersOf([2, 2]), outputDim: 4, coordinates: false, seed: 2 });
    expect(plain.project.weight.shape).toEqual([4, 2]);
    expect(plain.forward(randn([1, 3, 6, 6], { seed: 4 })).shape).toEqual([1, 9, 4]);
  });

  it('keeps the state-dict keys the apps saved their bundles with', () => {
    const stem = new ConvStem(8, { layers: layersOf([4, 2], [6, 2]), outputDim: 5, seed: 0 });
    const bn = (i: number) =>
      ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((k) => `convs.${i}.${k}`);
    expect(Object.keys(stem.stateDict()).sort()).toEqual(
      ['convs.0.weight', ...bn(1), 'convs.3.weight', ...bn(4), 'project.weight', 'project.bias'].sort(),
    );
    expect(stem.stateDict()['convs.3.weight']!.shape).toEqual([6, 4, 3, 3]);
    expect(stem.project.weight.shape).toEqual([5, 8]);
  });

  it('sends a gradient to every parameter, matching central differences', () => {
    const stem = new ConvStem(6, { layers: layersOf([3, 2], [4, 1]), outputDim: 3, seed: 5 });
    const x = randn([3, 3, 6, 6], { seed: 6 });
    const weights = randn([3, 9, 3], { seed: 7 });
    const loss = () => stem.forward(x).mul(weights).tanh().mean();
    stem.zeroGrad();
    scope(() => loss().backward());
    for (const [name, p] of stem.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.abs().sum().item(), name).toBeGreaterThan(0);
    }
    stem.zeroGrad();
    const check = gradCheckModule(stem, loss, { maxEntries: 6, skipKinks: true });
    expect(check.ok, `${check.parameter}: ${JSON.stringify(check)}`).toBe(true);
  });

  it.each(['cpu', 'wasm'])(
    '%s: channels-last forward (the default) equals channels-first: cells, every gradient, running statistics',
    (backend) => {
      const previous = getBackend();
      setBackend(backend);
      try {
        const run = (channelsLast: boolean) => {
          const stem = new ConvStem(12, {
            layers: layersOf([8, 2], [12, 2]),
            outputDim: 6,
            seed: 9,
            channelsLast,
          });
          const x = randn([4, 3, 12, 12], { seed: 10 });
          const weights = randn([4, 9, 6], { seed: 11 });
          const cells = stem.forward(x);
          scope(() => cells.mul(weights).tanh().sum().backward());
          const read = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());
          return {
            cells: read(cells),
            grads: stem.namedParameters().map(([name, p]) => [name, read(p.grad!)] as const),
            buffers: Object.entries(stem.stateDict())
              .filter(([k]) => k.includes('running'))
              .map(([k, t]) => [k, read(t)] as const),
          };
        };
        const last = run(true);
        const first = run(false);
        const close = (a: number[], b: number[], what: string) =>
          a.forEach((v, i) =>
            expect(Math.abs(v - b[i]!), `${what}[${i}]`).toBeLessThan(1e-4 * (1 + Math.abs(b[i]!))),
          );
        close(last.cells, first.cells, 'cells');
        last.grads.forEach(([name, g], i) => close(g, first.grads[i]![1], name));
        last.buffers.forEach(([name, v], i) => close(v, first.buffers[i]![1], name));
        expect(last.grads.length).toBe(8); // 2 convs, 2 × BatchNorm weight and bias, the projection
        expect(last.buffers.length).toBe(4);
      } finally {
        setBackend(previous);
      }
    },
  );

  it('refuses bad layers and input, naming what is wrong', () => {
    const ok = { layers: layersOf([4, 2]), outputDim: 4 };
    expect(() => new ConvStem(8, { ...ok, layers: [] })).toThrow(ArgumentError);
    expect(() => new ConvStem(8, { ...ok, layers: [] })).toThrow(/ConvStem: layers must name at least one/);
    expect(() => new ConvStem(8, { ...ok, layers: layersOf([4, 2], [0, 1]) })).toThrow(
      /ConvStem: layers\[1\]\.channels must be a positive integer, got 0/,
    );
    expect(() => new ConvStem(8, { ...ok, layers: layersOf([4, 1.5]) })).toThrow(
      /ConvStem: layers\[0\]\.stride must be a positive integer, got 1\.5/,
    );
    expect(() => new ConvStem(8, { ...ok, layers: [{ channels: 4 }] as ConvStemLayer[] })).toThrow(
      /layers\[0\]\.stride must be a positive integer, got undefined/,
    );
    expect(() => new ConvStem(0, ok)).toThrow(/ConvStem: imageSize must be a positive integer, got 0/);
    expect(() => new ConvStem(8, { ...ok, outputDim: 0 })).toThrow(
      /ConvStem: outputDim must be a positive integer/,
    );
    const stem = new ConvStem(8, ok);
    expect(() => stem.forward(randn([2, 1, 8, 8]))).toThrow(ShapeError);
    expect(() => stem.forward(randn([2, 1, 8, 8]))).toThrow(
      /ConvStem: pixelValues must be \[batch, 3, height, width\], got \[2,1,8,8\]/,
    );
  });
});
