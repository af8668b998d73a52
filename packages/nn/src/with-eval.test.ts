import { ones } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d } from './batch-norm.js';
import { Sequential } from './containers.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { withEval } from './with-eval.js';

const build = () =>
  new Sequential(
    new Linear(2, 2, { seed: 0 }),
    new Sequential(new Dropout(0.5, { seed: 0 }), new BatchNorm1d(2)),
    new Dropout(0.5, { seed: 1 }),
  );
const modes = (model: Sequential) => model.modules().map((m) => m.training);

describe('withEval', () => {
  it('runs fn with every module in eval mode and restores the mode after a return and after a throw', () => {
    const model = build();
    expect(modes(model)).toEqual([true, true, true, true, true, true]);
    expect(withEval(model, () => modes(model))).toEqual([false, false, false, false, false, false]);
    expect(modes(model)).toEqual([true, true, true, true, true, true]);
    // Eval mode is what the layers see: dropout is the identity inside.
    const x = ones([4, 2]);
    const dropout = model.at(2);
    expect(Array.from(withEval(model, () => dropout.forward(x)).dataSync())).toEqual(
      Array.from(x.dataSync()),
    );
    expect(() =>
      withEval(model, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(modes(model)).toEqual([true, true, true, true, true, true]);
    model.eval();
    withEval(model, () => undefined);
    expect(modes(model)).toEqual([false, false, false, false, false, false]); // eval stays eval
  });

  it('gives each module of a nested tree its own previous mode back (mixed modes), also after a throw', () => {
    const model = build();
    const inner = model.at(1);
    inner.eval(); // e.g. a frozen block kept in eval mode inside a training model
    model.at(2).eval();
    const before = [true, true, false, false, false, false];
    expect(modes(model)).toEqual(before);
    withEval(model, () => expect(modes(model).every((t) => !t)).toBe(true));
    expect(modes(model)).toEqual(before);
    expect(() =>
      withEval(model, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(modes(model)).toEqual(before);
    // Nested calls, the inner one on a subtree, unwind to the same modes.
    withEval(model, () => withEval(inner, () => undefined));
    expect(modes(model)).toEqual(before);
  });

  it('restores after an async fn settles, resolved or rejected', async () => {
    const model = build();
    model.at(0).eval();
    const before = modes(model);
    const pending = withEval(model, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return modes(model);
    });
    expect(modes(model).every((t) => !t)).toBe(true); // still in eval mode until it settles
    expect((await pending).every((t) => !t)).toBe(true);
    expect(modes(model)).toEqual(before);
    await expect(withEval(model, async () => Promise.reject(new Error('late')))).rejects.toThrow('late');
    expect(modes(model)).toEqual(before);
  });
});
