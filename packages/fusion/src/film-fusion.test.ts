/**
 * FiLMFusion beyond the shared strategy tests: PyTorch references (fixtures/conditioning.json from
 * scripts/make-conditioning-fixtures.py, written from the paper's definition with torch layers),
 * a hand-computed value, the conditioning's effect, masks, roles and bad options.
 */
import { noGrad, randn, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import {
  decode,
  decodeAll,
  conditioningFixture as fx,
  maxAbsDiff,
  worstDiff,
} from '../test/conditioning-fixture.js';
import { FiLMFusion, fusionFromConfig } from './index.js';

const dims = { image: 4, text: 3 };
const text = decode(fx.text);
const textMask = decode(fx.textMask);

describe('FiLMFusion matches its PyTorch reference', () => {
  it.each([
    ['film batch max', { norm: 'batch', pooling: 'max' }],
    ['film layer mean, padded cells', { norm: 'layer', pooling: 'mean' }],
    ['film layer max, padded cells', { norm: 'layer', pooling: 'max' }],
    ['film batch max, 2x3 grid', { norm: 'batch', pooling: 'max', grid: [2, 3] }],
    ['film batch flatten, 2x3 grid', { norm: 'batch', pooling: 'flatten', grid: [2, 3] }],
    [
      'film batch flatten coords, 2x3 grid',
      { norm: 'batch', pooling: 'flatten', grid: [2, 3], coordinates: true },
    ],
    [
      'film batch flatten coords, no input projection',
      { norm: 'batch', pooling: 'flatten', grid: [2, 3], coordinates: true, inputProjection: false },
    ],
  ] as const)('%s: the torch state dict loads strictly; fused and sequence within 1e-4', (name, options) => {
    const c = fx.cases[name]!;
    const imageWidth = 'inputProjection' in options ? 6 : dims.image;
    const film = new FiLMFusion({
      inputDims: { ...dims, image: imageWidth },
      hiddenDim: 6,
      numBlocks: 2,
      outputDim: 5,
      ...options,
    });
    film.loadStateDict(decodeAll(c.stateDict));
    film.train(); // batch statistics, as torch in train mode
    const masks = c.imageMask ? { text: textMask, image: decode(c.imageMask) } : { text: textMask };
    const out = film.forward({ image: decode(c.image), text }, masks);
    expect(out.fused.shape).toEqual(c.outputs.fused!.shape);
    expect(worstDiff(out.fused, c.outputs.fused!)).toBeLessThan(1e-4);
    expect(worstDiff(out.sequence!, c.outputs.sequence!)).toBeLessThan(1e-4);
  });
});

describe('FiLMFusion', () => {
  it('with a grid, a block sees its neighbours: changing one cell moves the other cells of the sequence', () => {
    const make = (grid?: [number, number]) =>
      new FiLMFusion({
        inputDims: dims,
        hiddenDim: 6,
        numBlocks: 1,
        norm: 'none',
        seed: 3,
        ...(grid ? { grid } : {}),
      });
    const image = randn([1, 6, 4], { seed: 1 });
    const moved = image.add(tensor([1, 0, 0, 0, 0, 0], { shape: [1, 6, 1] }));
    const changedCells = (f: FiLMFusion) => {
      const a = f.forward({ image, text: text.narrow(0, 0, 1) }).sequence!.dataSync();
      const b = f.forward({ image: moved, text: text.narrow(0, 0, 1) }).sequence!.dataSync();
      return [1, 2, 3, 4, 5].filter((c) => [0, 1, 2, 3, 4, 5].some((k) => a[c * 6 + k] !== b[c * 6 + k]));
    };
    expect(changedCells(make())).toEqual([]); // per-cell blocks: only cell 0 changes
    // 3×3 neighbours of cell 0 (row 0, col 0) on a 2×3 grid: cells 1, 3, 4.
    expect(changedCells(make([2, 3]))).toEqual([1, 3, 4]);
  });

  it('refuses a bad grid, flatten pooling without a grid, and inputs whose cell count does not fit', () => {
    expect(() => new FiLMFusion({ inputDims: dims, pooling: 'flatten' })).toThrow(/'flatten' needs a grid/);
    expect(() => new FiLMFusion({ inputDims: dims, coordinates: true })).toThrow(/coordinates needs a grid/);
    expect(() => new FiLMFusion({ inputDims: dims, hiddenDim: 6, inputProjection: false })).toThrow(
      /inputProjection: false needs the target 'image' to be hiddenDim wide \(6\), got 4/,
    );
    expect(() => new FiLMFusion({ inputDims: dims, grid: [2, 0] as unknown as [number, number] })).toThrow(
      /grid must be \[h, w\]/,
    );
    const f = new FiLMFusion({ inputDims: dims, grid: [2, 2], seed: 0 });
    expect(() => f.forward({ image: randn([2, 6, 4]), text })).toThrow(/6 cells, but grid \[2,2\] needs 4/);
  });

  it('conditionScale s equals the same model with W_film scaled by s (bias kept); bad values are refused', () => {
    const make = (conditionScale?: number) =>
      new FiLMFusion({
        inputDims: dims,
        hiddenDim: 6,
        norm: 'layer',
        seed: 4,
        ...(conditionScale ? { conditionScale } : {}),
      });
    const scaled = make(8);
    const plain = make();
    noGrad(() => plain.getParameter('film.weight').assign(plain.getParameter('film.weight').mul(8)));
    const image = randn([2, 5, 4], { seed: 2 });
    const a = scaled.forward({ image, text }, { text: textMask });
    const b = plain.forward({ image, text }, { text: textMask });
    expect(maxAbsDiff(a.fused, b.fused)).toBeLessThan(1e-5);
    // …and differs from the unscaled model, so the factor is applied at all.
    expect(maxAbsDiff(a.fused, make().forward({ image, text }, { text: textMask }).fused)).toBeGreaterThan(
      1e-3,
    );
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => new FiLMFusion({ inputDims: dims, conditionScale: bad })).toThrow(
        /conditionScale must be in \(0, Infinity\)/,
      );
  });

  it.each([
    ['grid, coordinates, flatten, no input projection (the VQA app)', { inputProjection: false }],
    ['grid, coordinates, flatten, input projection', {}],
  ] as const)('forwardShared over shared image rows equals forward on the gathered cells: %s', (_, extra) => {
    const width = 'inputProjection' in extra ? 6 : 4;
    const make = () =>
      new FiLMFusion({
        inputDims: { image: width, text: 3 },
        hiddenDim: 6,
        numBlocks: 2,
        grid: [2, 3],
        coordinates: true,
        pooling: 'flatten',
        seed: 5,
        ...extra,
      });
    // 3 images, 7 questions; image 2 is asked about once, image 0 three times.
    const rows = tensor([0, 1, 0, 2, 1, 0, 1], { dtype: 'int32' });
    const image = randn([3, 6, width], { seed: 6, requiresGrad: true });
    const question = randn([7, 4, 3], { seed: 7 });
    const w = randn([7, 6], { seed: 8 });
    const run = (shared: boolean) => {
      const film = make();
      film.train(); // batch statistics: the block's BatchNorm must see the 7 samples, not the 3 images
      image.zeroGrad();
      const out = shared
        ? film.forwardShared({ image, text: question }, { image: rows })
        : film.forward({ image: image.indexSelect(0, rows), text: question });
      out.fused.mul(w).sum().backward();
      const running = film.stateDict()['blocks.0.norm.running_var']!;
      return { out, film, grad: tensor(image.grad!.dataSync().slice(), { shape: image.shape }), running };
    };
    const a = run(true);
    const b = run(false);
    expect(a.out.fused.shape).toEqual([7, 6]);
    expect(maxAbsDiff(a.out.fused, b.out.fused)).toBeLessThan(1e-5);
    expect(maxAbsDiff(a.out.sequence!, b.out.sequence!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(a.grad, b.grad)).toBeLessThan(1e-4);
    for (const [name, p] of a.film.namedParameters())
      expect(maxAbsDiff(p.grad!, b.film.getParameter(name).grad!), name).toBeLessThan(1e-4);
    // The running statistics too: the normalization saw the same 7 samples either way.
    expect(maxAbsDiff(a.running, b.running)).toBeLessThan(1e-6);
  });

  it('forwardShared refuses bad rows with the modality named', () => {
    const film = new FiLMFusion({ inputDims: dims, hiddenDim: 6, seed: 1 });
    const image = randn([2, 5, 4], { seed: 2 });
    const question = randn([3, 4, 3], { seed: 3 });
    const ok = tensor([0, 1, 1], { dtype: 'int32' });
    expect(film.forwardShared({ image, text: question }, { image: ok }).fused.shape).toEqual([3, 6]);
    expect(() =>
      film.forwardShared({ image, text: question }, { image: tensor([0, 2, 1], { dtype: 'int32' }) }),
    ).toThrow(/rows for 'image' \[1\] = 2 is outside its input's 2 rows/);
    expect(() => film.forwardShared({ image, text: question }, { image: tensor([0, 1, 1]) })).toThrow(
      /rows for 'image' must be an int32 \[B\] index, got float32 \[3\]/,
    );
    expect(() =>
      film.forwardShared({ image, text: question }, { image: tensor([0, 1], { dtype: 'int32' }) }),
    ).toThrow(/batch sizes differ/);
    expect(() => film.forwardShared({ image, text: question }, { audio: ok })).toThrow(
      /rows for unexpected modality 'audio'/,
    );
  });

  it('computes h + ReLU((1 + Δγ)·W h + β) per cell, then max-pools (hand-computed, norm none)', () => {
    const f = new FiLMFusion({
      inputDims: { image: 1, text: 1 },
      hiddenDim: 1,
      numBlocks: 1,
      norm: 'none',
      outputDim: 1,
    });
    noGrad(() => {
      const set = (name: string, v: number[]) =>
        f.getParameter(name).assign(tensor(v, { shape: f.getParameter(name).shape }));
      set('input.weight', [2]);
      set('input.bias', [0]);
      set('film.weight', [0.5, 1]); // Δγ = 0.5·q, β = q
      set('film.bias', [0, 0]);
      set('blocks.0.linear.weight', [-1]);
      set('blocks.0.linear.bias', [3]);
      set('output.weight', [1]);
      set('output.bias', [-1]);
    });
    // Cells x = [1, 2], q = 2: h0 = [2, 4]; Δγ = 1, β = 2; W h0 = [1, −1];
    // h1 = h0 + ReLU(2·[1, −1] + 2) = [2 + 4, 4 + 0] = [6, 4]; out = ReLU([5, 3]); max = 5.
    const out = f.forward({ image: tensor([[[1], [2]]]), text: tensor([[2]]) });
    expect(Array.from(out.sequence!.dataSync())).toEqual([5, 3]);
    expect(out.fused.item()).toBeCloseTo(5, 6);
  });

  it('the question changes the output; padded question tokens and padded cells do not', () => {
    const f = new FiLMFusion({ inputDims: dims, hiddenDim: 8, norm: 'layer', seed: 1 });
    const image = randn([2, 5, 4], { seed: 2 });
    const q1 = randn([2, 2, 3], { seed: 3 });
    const base = f.forward({ image, text: q1 }).fused;
    const other = f.forward({ image, text: randn([2, 2, 3], { seed: 4 }) }).fused;
    expect(maxAbsDiff(base, other)).toBeGreaterThan(1e-3);
    // Garbage under padding, in the question and in the image cells.
    const qMask = tensor(
      [
        [true, false],
        [true, true],
      ],
      { dtype: 'bool' },
    );
    const cellMask = tensor(
      [
        [true, true, true, false, false],
        [true, true, true, true, true],
      ],
      { dtype: 'bool' },
    );
    const masked = (im: Tensor, q: Tensor) =>
      f.forward({ image: im, text: q }, { text: qMask, image: cellMask }).fused;
    const noisyImage = image.add(tensor([0, 0, 0, 1, 1, 0, 0, 0, 0, 0], { shape: [2, 5, 1] }).mul(100));
    const noisyQ = q1.add(tensor([0, 1, 0, 0], { shape: [2, 2, 1] }).mul(100));
    expect(maxAbsDiff(masked(image, q1), masked(noisyImage, noisyQ))).toBeLessThan(1e-5);
  });

  it('pooled inputs work (one cell); several conditioning modalities are concatenated', () => {
    const f = new FiLMFusion({ inputDims: { audio: 2, image: 4, text: 3 }, hiddenDim: 6, seed: 0 });
    expect(f.target).toBe('image');
    expect(f.conditions).toEqual(['audio', 'text']);
    expect(f.getParameter('film.weight').shape).toEqual([2 * 2 * 6, 5]);
    const out = f.forward({ audio: randn([3, 2]), image: randn([3, 4]), text: randn([3, 7, 3]) });
    expect(out.fused.shape).toEqual([3, 6]);
    expect(out.sequence!.shape).toEqual([3, 1, 6]);
  });

  it('keeps BatchNorm running statistics in its state dict (PyTorch names)', () => {
    const f = new FiLMFusion({ inputDims: dims, hiddenDim: 4, numBlocks: 1, seed: 0 });
    expect(Object.keys(f.stateDict())).toEqual([
      'input.weight',
      'input.bias',
      'film.weight',
      'film.bias',
      'blocks.0.linear.weight',
      'blocks.0.norm.running_mean',
      'blocks.0.norm.running_var',
      'blocks.0.norm.num_batches_tracked',
      'output.weight',
      'output.bias',
    ]);
  });

  it('roles and options: defaults, explicit roles, typed errors', () => {
    const swapped = fusionFromConfig({
      type: 'film',
      inputDims: dims,
      target: 'text',
      condition: 'image',
    }) as FiLMFusion;
    expect([swapped.target, swapped.conditions]).toEqual(['text', ['image']]);
    expect(() => new FiLMFusion({ inputDims: { a: 2, b: 3 } })).toThrow(
      /target must name one of the modalities \{a, b\}/,
    );
    expect(() => new FiLMFusion({ inputDims: dims, target: 'audio' })).toThrow(/target 'audio'/);
    expect(() => new FiLMFusion({ inputDims: dims, condition: 'image' })).toThrow(
      /both target and condition/,
    );
    expect(() => new FiLMFusion({ inputDims: { audio: 1, ...dims }, condition: 'text' })).toThrow(
      /'audio' is neither target nor condition/,
    );
    expect(() => new FiLMFusion({ inputDims: dims, norm: 'group' as never })).toThrow(/norm must be/);
    expect(() => new FiLMFusion({ inputDims: dims, numBlocks: 0 })).toThrow(/numBlocks/);
    const bn = new FiLMFusion({ inputDims: dims, hiddenDim: 4 });
    expect(() =>
      bn.forward(
        { image: randn([2, 3, 4]), text: randn([2, 3]) },
        {
          image: tensor(
            [
              [true, true, false],
              [true, true, true],
            ],
            { dtype: 'bool' },
          ),
        },
      ),
    ).toThrow(/needs norm 'layer' or 'none'/);
  });
});
