import { ArgumentError, memory, ones, PolymodalError, randn, tensor, zeros } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { STRATEGIES } from '../test/strategies.js';
import {
  ConcatFusion,
  EarlyFusion,
  FusionInputError,
  type FusionInputs,
  IntermediateFusion,
  maskedMean,
} from './index.js';

const dims = { image: 4, text: 3 };

/** The error a call throws (fails the test if it does not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe.each(STRATEGIES)('$name rejects bad input with FusionInputError', (spec) => {
  const fusion = spec.build(dims, 0, 4);
  const good = (batch = 2): FusionInputs =>
    spec.sequence
      ? { image: randn([batch, 3, 4], { seed: 1 }), text: randn([batch, 2, 3], { seed: 2 }) }
      : { image: randn([batch, 4], { seed: 1 }), text: randn([batch, 3], { seed: 2 }) };

  it('missing modality', () => {
    const { image } = good();
    const e = thrown(() => fusion.forward({ image: image! }));
    expect(e).toBeInstanceOf(FusionInputError);
    expect(e).toBeInstanceOf(PolymodalError);
    expect((e as FusionInputError).modality).toBe('text');
    expect(e.message).toMatch(/missing modality 'text'.*expected \{image, text\}.*image: \[2,/);
  });

  it('unexpected modality', () => {
    const e = thrown(() => fusion.forward({ ...good(), audio: randn([2, 5]) }));
    expect(e).toBeInstanceOf(FusionInputError);
    expect((e as FusionInputError).modality).toBe('audio');
    expect(e.message).toMatch(/unexpected modality 'audio'.*audio: \[2,5\]/);
  });

  it('mismatched batch sizes', () => {
    const e = thrown(() => fusion.forward({ ...good(2), text: good(3).text! }));
    expect(e).toBeInstanceOf(FusionInputError);
    expect(e.message).toMatch(/batch sizes differ.*image: \[2,.*text: \[3,/);
  });

  it('wrong width and wrong rank', () => {
    const wide = spec.sequence ? randn([2, 2, 5]) : randn([2, 5]);
    const e = thrown(() => fusion.forward({ ...good(), text: wide }));
    expect(e).toBeInstanceOf(FusionInputError);
    expect((e as FusionInputError).modality).toBe('text');
    expect(e.message).toContain(`got [${wide.shape.join(',')}]`);
    expect(e.message).toContain('3]'); // the expected width
    expect(() => fusion.forward({ ...good(), image: randn([2, 1, 1, 4]) })).toThrow(FusionInputError);
    expect(() => fusion.forward({ ...good(), image: zeros([2, 4], { dtype: 'int32' }) })).toThrow(/float32/);
  });
});

describe('masks', () => {
  const early = new EarlyFusion({
    inputDims: dims,
    dModel: 8,
    numHeads: 2,
    numLayers: 1,
    dropout: 0,
    seed: 0,
  });
  const inputs = { image: randn([2, 3, 4], { seed: 1 }), text: randn([2, 2, 3], { seed: 2 }) };

  it('mask shape, dtype, unknown modality and pooled-input masks are rejected', () => {
    const e = thrown(() => early.forward(inputs, { text: ones([2, 3], { dtype: 'bool' }) }));
    expect(e).toBeInstanceOf(FusionInputError);
    expect(e.message).toMatch(/mask for 'text' must be \[2,2\].*input \[2,2,3\], got \[2,3\]/);
    expect(() => early.forward(inputs, { text: ones([2, 2]) })).toThrow(/must be bool/);
    expect(() => early.forward(inputs, { audio: ones([2, 2], { dtype: 'bool' }) })).toThrow(
      /mask for unexpected modality 'audio'/,
    );
    const concat = new ConcatFusion({ inputDims: dims });
    expect(() =>
      concat.forward(
        { image: randn([2, 4]), text: randn([2, 3]) },
        { text: ones([2, 1], { dtype: 'bool' }) },
      ),
    ).toThrow(/mask for .text. given but its input is pooled \[2,3\]/);
  });

  it('true = real token: padded positions do not change the output', () => {
    early.eval();
    // Text of length 2 where sample 0's second token is padding, vs the same text truncated to 1.
    const mask = tensor(
      [
        [true, false],
        [true, false],
      ],
      { dtype: 'bool' },
    );
    const garbage = inputs.text.add(tensor([0, 100], { shape: [1, 2, 1] }));
    const padded = early.forward({ image: inputs.image, text: garbage }, { text: mask }).fused;
    const truncated = early.forward({ image: inputs.image, text: inputs.text.narrow(1, 0, 1) }).fused;
    const a = Array.from(padded.dataSync());
    const b = Array.from(truncated.dataSync());
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4));
  });
});

describe('construction errors', () => {
  it('bad inputDims and options are ArgumentErrors', () => {
    expect(() => new ConcatFusion({ inputDims: {} })).toThrow(ArgumentError);
    expect(() => new ConcatFusion({ inputDims: { 'a.b': 2 } })).toThrow(/no '\.'/);
    expect(() => new ConcatFusion({ inputDims: { a: 0 } })).toThrow(
      /inputDims\.a must be a positive integer/,
    );
    expect(() => new ConcatFusion({ inputDims: { a: 2 }, outputDim: 1.5 })).toThrow(/outputDim/);
    expect(() => new IntermediateFusion({ inputDims: { a: 2, b: 2, c: 2 }, dModel: 4, numHeads: 2 })).toThrow(
      /exactly 2 modalities/,
    );
    expect(
      () =>
        new IntermediateFusion({
          inputDims: { a: 2, b: 2 },
          dModel: 4,
          numHeads: 2,
          numLayers: 2,
          crossLayers: [2],
        }),
    ).toThrow(/crossLayers/);
    expect(() => new EarlyFusion({ inputDims: dims, dModel: 6, numHeads: 4 })).toThrow(ArgumentError);
  });
});

it('modalities are processed in sorted-key order whatever the record order', () => {
  const fusion = new ConcatFusion({ inputDims: { text: 3, image: 4 } });
  expect(fusion.modalities).toEqual(['image', 'text']);
  const image = tensor([[1, 2, 3, 4]]);
  const text = tensor([[5, 6, 7]]);
  const expected = [1, 2, 3, 4, 5, 6, 7];
  expect(Array.from(fusion.forward({ text, image }).fused.dataSync())).toEqual(expected);
  expect(Array.from(fusion.forward({ image, text }).fused.dataSync())).toEqual(expected);
});

describe('maskedMean', () => {
  it('averages the real tokens only, gives zeros for an empty row, and leaves no tensor behind', () => {
    const x = tensor([
      [[1], [3], [100]],
      [[5], [7], [9]],
    ]);
    const mask = tensor([
      [true, true, false],
      [false, false, false],
    ]);
    const live = memory().tensors;
    const out = maskedMean(x, mask);
    expect(Array.from(out.dataSync())).toEqual([2, 0]);
    expect(memory().tensors).toBe(live + 1);
  });
});
