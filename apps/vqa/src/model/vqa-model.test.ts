import { listFusions } from '@polymodal/fusion';
import { randn, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { VqaModel, type VqaModelConfig } from './vqa-model.js';

/** The app's model at its default sizes, on a 32 px image (4×4 cells) to keep the test quick. */
const configFor = (type: string): VqaModelConfig => ({
  imageSize: 32,
  ...DEFAULT_CONFIG.model,
  fusion: { type },
  vocabSize: 20,
  padId: 0,
  maxTextLength: 8,
  numAnswers: 5,
  seed: 3,
});

/** `convs.{3i}` Conv2d, `convs.{3i+1}` BatchNorm2d (ReLU has no state), then the projection. */
const stemKeys = (prefix: string, channels: number[], inChannels: number, dModel: number): string[] => [
  ...channels.flatMap((c, i) => [
    `${prefix}convs.${3 * i}.weight [${c},${i === 0 ? inChannels : channels[i - 1]},3,3]`,
    ...['weight', 'bias', 'running_mean', 'running_var'].map(
      (k) => `${prefix}convs.${3 * i + 1}.${k} [${c}]`,
    ),
    `${prefix}convs.${3 * i + 1}.num_batches_tracked []`,
  ]),
  `${prefix}project.weight [${dModel},${channels[channels.length - 1]! + 2}]`,
  `${prefix}project.bias [${dModel}]`,
];

describe('VqaModel', () => {
  it.each([
    ['film (the default: its first block convolves each image once)', DEFAULT_CONFIG.model.fusion],
    ['concat (pooled: the fusion gathers)', { type: 'concat' }],
  ])('fuse with an image index equals fuse on the gathered cells: %s', (_, fusion) => {
    const model = new VqaModel({ ...configFor('film'), fusion });
    model.train();
    const pixels = randn([2, 3, 32, 32], { seed: 1 });
    const index = tensor([1, 0, 1, 1, 0], { dtype: 'int32' });
    const ids = tensor([2, 5, 7, 3, 2, 6, 7, 3, 2, 5, 8, 3, 2, 9, 7, 3, 2, 5, 7, 4], {
      shape: [5, 4],
      dtype: 'int32',
    });
    const mask = tensor(new Uint8Array(20).fill(1), { shape: [5, 4], dtype: 'bool' });
    const cells = model.encodeImage(pixels);
    const shared = model.fuse(cells, ids, mask, index).dataSync();
    const gathered = model.fuse(cells.indexSelect(0, index), ids, mask).dataSync();
    expect(shared.length).toBe(5 * model.fusedDim);
    expect(Math.max(...shared.map((v, i) => Math.abs(v - gathered[i]!)))).toBeLessThan(1e-5);
  });

  // Saved bundles and checkpoints name the stem's tensors so; the list is the one the app's own
  // stem had before it moved to @polymodal/nn (recorded from it, same order).
  it("keeps the image stem's state-dict keys and shapes, so saved bundles load", () => {
    const model = new VqaModel({
      ...configFor('film'),
      stem: [
        { channels: 24, stride: 2 },
        { channels: 48, stride: 2 },
        { channels: 64, stride: 2 },
      ],
    });
    const keys = Object.entries(model.stateDict())
      .filter(([k]) => k.startsWith('image.'))
      .map(([k, t]) => `${k} [${t.shape}]`);
    expect(keys).toEqual(stemKeys('image.', [24, 48, 64], 3, model.config.dModel));
    expect(keys[0]).toBe('image.convs.0.weight [24,3,3,3]');
  });

  // `--fusion <name>` promises every registered strategy: each must build with the app's defaults,
  // answer, and pass gradient back to both the image stem and the text encoder.
  it.each(listFusions())('builds with --fusion %s, answers and trains both encoders', (type) => {
    const model = new VqaModel(configFor(type));
    const pixels = randn([2, 3, 32, 32], { seed: 1 });
    const ids = tensor(
      [
        [2, 5, 6, 7, 3, 0],
        [2, 8, 9, 3, 0, 0],
      ],
      { dtype: 'int32' },
    );
    const mask = ids.ne(0);
    const { logits } = model.forward(pixels, ids, mask);
    expect(logits.shape).toEqual([2, 5]);
    expect([...logits.dataSync()].every(Number.isFinite)).toBe(true);
    logits.square().sum().backward();
    const gradNorm = (prefix: string) =>
      model
        .namedParameters()
        .filter(([n]) => n.startsWith(prefix))
        .reduce((s, [, p]) => s + (p.grad ? p.grad.square().sum().item() : 0), 0);
    expect(gradNorm('image.')).toBeGreaterThan(0);
    expect(gradNorm('text.')).toBeGreaterThan(0);
  });

  it("with textEncoder 'gru' the question is read in order: swapping two words changes the answer scores", () => {
    const fused = (kind: 'gru' | 'transformer', ids: number[]) => {
      // Without the answer head's word-order vector, which reads order whatever the encoder.
      const model = new VqaModel({ ...configFor('film'), textEncoder: kind, headWordOrder: false });
      model.eval();
      const pixels = randn([1, 3, 32, 32], { seed: 1 });
      const t = tensor([ids], { dtype: 'int32' });
      return [...model.forward(pixels, t, t.ne(0)).logits.dataSync()];
    };
    const diff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    // "… red … blue …" against "… blue … red …": the same bag of words.
    const a = [2, 5, 6, 7, 3];
    const b = [2, 7, 6, 5, 3];
    expect(diff(fused('gru', a), fused('gru', b))).toBeGreaterThan(1e-4);
    const names = new VqaModel({ ...configFor('film'), textEncoder: 'gru' })
      .namedParameters()
      .map(([n]) => n);
    expect(names).toContain('text.gru.weight_hh_l0');
    expect(names).not.toContain('text.positions');
    // The mean-pooled transformer (residual branches at zero) cannot tell them apart at the start.
    expect(diff(fused('transformer', a), fused('transformer', b))).toBeLessThan(1e-3);
    // The GRU has no word-order vector, whatever headWordOrder says.
    const gru = new VqaModel({ ...configFor('film'), textEncoder: 'gru', headWordOrder: true });
    expect([gru.text.order, gru.fusedDim]).toEqual([null, gru.fusion.outputDim]);
  });

  it("with questionPool 'flatten' word order counts from the start, and padding does not", () => {
    const model = new VqaModel({ ...configFor('film'), questionPool: 'flatten', headWordOrder: false });
    model.eval();
    const pixels = randn([1, 3, 32, 32], { seed: 1 });
    const logits = (ids: number[]) => {
      const t = tensor([ids], { dtype: 'int32' });
      return [...model.forward(pixels, t, t.ne(0)).logits.dataSync()];
    };
    const diff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    expect(diff(logits([2, 5, 6, 7, 3]), logits([2, 7, 6, 5, 3]))).toBeGreaterThan(1e-4);
    // A batch padded further (a longer question beside it) gives the same vector: padding is zeros
    // at the positions after the last real token, whatever the batch's length.
    expect(diff(logits([2, 5, 6, 7, 3]), logits([2, 5, 6, 7, 3, 0, 0]))).toBeLessThan(1e-6);
    expect(model.namedParameters().map(([n]) => n)).toContain('text.merge.weight');
    const merge = model.text.merge!;
    expect(merge.weight.shape).toEqual([
      model.config.dModel,
      model.config.maxTextLength * model.config.dModel,
    ]);
  });

  it("with questionPool 'flatten-ends' the slots are counted from the start and from the end", () => {
    const model = new VqaModel({ ...configFor('film'), questionPool: 'flatten-ends', headWordOrder: false });
    const max = model.config.maxTextLength; // 8
    // Token states [2, 5, 1]: each value says which row and position it came from.
    const states = tensor(
      [
        [1, 2, 3, 4, 5],
        [11, 12, 13, 14, 15],
      ].map((r) => r.map((v) => [v])),
    );
    const mask = tensor([
      [true, true, true, false, false],
      [true, true, true, true, true],
    ]);
    const slots = [...model.text.slots(states, mask).dataSync()];
    // Row 0 (3 real tokens): from the start 1 2 3 then zeros; from the end zeros then 1 2 3.
    expect(slots.slice(0, 2 * max)).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
    expect(slots.slice(2 * max)).toEqual([11, 12, 13, 14, 15, 0, 0, 0, 0, 0, 0, 11, 12, 13, 14, 15]);
    expect(model.text.merge!.weight.shape).toEqual([model.config.dModel, 2 * max * model.config.dModel]);
  });

  it('with headWordOrder the answer head also reads the question in word order; FiLM keeps the mean', () => {
    const model = new VqaModel({ ...configFor('film'), headWordOrder: true });
    model.eval();
    const d = model.config.dModel;
    const max = model.config.maxTextLength;
    expect(model.fusedDim).toBe(model.fusion.outputDim + d);
    expect(model.text.order!.weight.shape).toEqual([d, 2 * max * d]);
    expect(model.text.merge).toBeNull(); // the question's own vector stays the mean
    const pixels = randn([1, 3, 32, 32], { seed: 1 });
    const run = (ids: number[]) => {
      const t = tensor([ids], { dtype: 'int32' });
      const fused = model.fuse(model.encodeImage(pixels), t, t.ne(0));
      return { fused: [...fused.dataSync()], logits: [...model.head.forward(fused).dataSync()] };
    };
    const diff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    const a = run([2, 5, 6, 7, 3]);
    const b = run([2, 7, 6, 5, 3]); // the same bag of words, two words swapped
    const f = model.fusion.outputDim;
    expect(a.fused).toHaveLength(f + d);
    // The fusion's part is conditioned on the mean (residual branches at zero: order-blind at the
    // start); the order vector and so the answer scores tell the two apart.
    expect(diff(a.fused.slice(0, f), b.fused.slice(0, f))).toBeLessThan(1e-3);
    expect(diff(a.fused.slice(f), b.fused.slice(f))).toBeGreaterThan(1e-3);
    expect(diff(a.logits, b.logits)).toBeGreaterThan(1e-4);
    // Padding further changes nothing.
    expect(diff(a.fused, run([2, 5, 6, 7, 3, 0, 0]).fused)).toBeLessThan(1e-6);
    // The order vector is the Linear over the both-ends slots, computed here on its own.
    const t = tensor([[2, 5, 6, 7, 3]], { dtype: 'int32' });
    const states = model.text.forward(t, t.ne(0));
    const slots = model.text.slots(states, t.ne(0), true);
    const expected = [...model.text.order!.forward(slots.reshape([1, -1])).dataSync()];
    expect(diff(a.fused.slice(f), expected)).toBeLessThan(1e-5);
  });
});
