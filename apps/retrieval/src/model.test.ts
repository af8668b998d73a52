import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConvStem } from '@polymodal/nn';
import { Generator, manualSeed, randn, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { AttentionPool } from './attention-pool.js';
import { loadBundle, saveBundle } from './bundle.js';
import { DEFAULT_TRAIN, modelConfigOf } from './config.js';
import { buildTokenizer, preprocessorConfig } from './data.js';
import { RetrievalModel } from './model.js';
import { parseStemLayers } from './stem-layers.js';

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('the image tower', () => {
  it('parses stem layers and rejects malformed ones, naming the spec', () => {
    expect(parseStemLayers('32:2, 64:1')).toEqual([
      { channels: 32, stride: 2 },
      { channels: 64, stride: 1 },
    ]);
    expect(() => parseStemLayers('32:2,64')).toThrow(/'64' is not channels:stride \(in '32:2,64'\)/);
    expect(() => parseStemLayers('0:2')).toThrow(/≥ 1 in '0:2'/);
  });

  it('ConvStem: three stride-2 layers turn 48 px into 6×6 cells of dModel', () => {
    const stem = new ConvStem(48, {
      layers: parseStemLayers('8:2,8:2,8:2'),
      outputDim: 16,
      generator: new Generator(1),
    });
    expect(stem.grid).toEqual([6, 6]);
    expect(stem.forward(randn([2, 3, 48, 48])).shape).toEqual([2, 36, 16]);
    // The projection sees each cell's channels plus its x and y.
    expect(stem.project.weight.shape).toEqual([16, 10]);
  });

  // Saved bundles and checkpoints name the stem's tensors so: the list the app's own stem gave
  // before it moved to @polymodal/nn (recorded from it, same order).
  it("keeps the stem's state-dict keys and shapes, so saved bundles load", () => {
    const config = modelConfigOf(
      { ...DEFAULT_TRAIN, stem: parseStemLayers('8:2,16:1'), dModel: 16 },
      { vocabSize: 10, padId: 0, maxLength: 8 },
    );
    const keys = Object.entries(new RetrievalModel(config).stateDict())
      .filter(([k]) => k.startsWith('image.stem.'))
      .map(([k, t]) => `${k} [${t.shape}]`);
    const bn = (i: number, c: number) => [
      ...['weight', 'bias', 'running_mean', 'running_var'].map((k) => `image.stem.convs.${i}.${k} [${c}]`),
      `image.stem.convs.${i}.num_batches_tracked []`,
    ];
    expect(keys).toEqual([
      'image.stem.convs.0.weight [8,3,3,3]',
      ...bn(1, 8),
      'image.stem.convs.3.weight [16,8,3,3]',
      ...bn(4, 16),
      'image.stem.project.weight [16,18]',
      'image.stem.project.bias [16]',
    ]);
  });

  it('AttentionPool is a set pooling: the order of the cells does not matter, their content does', () => {
    manualSeed(3);
    const pool = new AttentionPool(16, 4, 3, 8, new Generator(2));
    const cells = randn([2, 5, 16]);
    const out = pool.forward(cells).dataSync() as Float32Array;
    const shuffled = cells.indexSelect(1, tensor(Int32Array.from([4, 2, 0, 3, 1]), { dtype: 'int32' }));
    expect(maxDiff(out, pool.forward(shuffled).dataSync() as Float32Array)).toBeLessThan(1e-5);
    const other = pool.forward(randn([2, 5, 16])).dataSync() as Float32Array;
    expect(maxDiff(out, other)).toBeGreaterThan(1e-2);
  });
});

describe('a bundle', () => {
  it('keeps the BatchNorm running statistics: a loaded model embeds as the trained one does in eval mode', async () => {
    manualSeed(5);
    const captions = [
      'a small red circle above a large blue square',
      'a large blue square below a small red circle',
    ];
    const tokenizer = buildTokenizer(captions);
    const config = modelConfigOf(
      {
        ...DEFAULT_TRAIN,
        imageSize: 24,
        stem: parseStemLayers('8:2,8:2'),
        dModel: 16,
        embedDim: 8,
        dimFeedforward: 32,
      },
      { vocabSize: tokenizer.vocabSize, padId: tokenizer.padId, maxLength: 16 },
    );
    const model = new RetrievalModel(config);
    // Training-mode forwards move the running statistics away from their initial 0 and 1.
    for (let k = 0; k < 3; k++) model.embedImages(randn([4, 3, 24, 24]).mul(2).add(1)).dispose();
    model.eval();
    const pixels = randn([3, 3, 24, 24]);
    const expected = model.embedImages(pixels).dataSync() as Float32Array;
    const dir = join(mkdtempSync(join(tmpdir(), 'retrieval-bundle-')), 'bundle');
    await saveBundle(dir, model, tokenizer, preprocessorConfig(24));
    const loaded = await loadBundle(dir);
    const got = loaded.model.embedImages(pixels).dataSync() as Float32Array;
    expect(maxDiff(expected, got)).toBeLessThan(1e-5);
    // And eval mode matters: batch statistics would give other embeddings.
    loaded.model.train();
    expect(maxDiff(expected, loaded.model.embedImages(pixels).dataSync() as Float32Array)).toBeGreaterThan(
      1e-3,
    );
  });
});
