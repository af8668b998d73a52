import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RgbImage } from '@polymodal/data';
import { IntermediateFusion } from '@polymodal/fusion';
import { Generator, manualSeed, noGrad, randn } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { loadBundle, saveBundle } from './bundle.js';
import { DEFAULT_TRAIN, type ItmHead, itmHeadOf, modelConfigOf, type TrainConfig } from './config.js';
import { buildTokenizer, imageTensor, preprocessorConfig, tokenTensors } from './data.js';
import { disposeSequences, itmScores, sequencesOf } from './embed.js';
import { RetrievalModel } from './model.js';
import { ReadoutItm } from './readout-itm.js';
import { checkSceneRecipe, itmHeadOfRun } from './scene-recipe.js';
import { parseStemLayers } from './stem-layers.js';

const captions = [
  'a small red circle above a large blue square',
  'a large blue square below a small red circle',
  'a large green triangle left of a small red circle',
];
const tokenizer = buildTokenizer(captions);
const ids = captions.map((c) => tokenizer.encode(c).inputIds);
const tiny: TrainConfig = {
  ...DEFAULT_TRAIN,
  imageSize: 24,
  stem: parseStemLayers('8:2,8:2'),
  dModel: 16,
  embedDim: 8,
  dimFeedforward: 32,
};
const modelOf = (c: TrainConfig) =>
  new RetrievalModel(
    modelConfigOf(c, { vocabSize: tokenizer.vocabSize, padId: tokenizer.padId, maxLength: 16 }),
  );
const pictures = (n: number, seed: number): RgbImage[] => {
  const g = new Generator(seed);
  return Array.from({ length: n }, () => ({
    width: 24,
    height: 24,
    data: Float32Array.from({ length: 3 * 24 * 24 }, () => g.uniform() * 2 - 1),
  }));
};
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `entry ${i}`).toBeLessThan(tol);
};

describe('choosing the ITM head', () => {
  it('defaults to the read-out head when the read-outs are on, else the fusion; --itm-head wins', () => {
    expect(itmHeadOf(DEFAULT_TRAIN)).toBe('readout');
    expect(itmHeadOf({ ...DEFAULT_TRAIN, auxEmbedWeight: 0 })).toBe('fusion');
    expect(itmHeadOf({ ...DEFAULT_TRAIN, itmHead: 'fusion' })).toBe('fusion');
    expect(modelConfigOf(DEFAULT_TRAIN, { vocabSize: 9, padId: 0, maxLength: 8 }).itmHead).toBe('readout');
    // The earlier recipe (every scene part off) keeps the fusion head, without a flag.
    const earlier = {
      ...DEFAULT_TRAIN,
      capsPerImage: 0,
      negCaps: 0,
      itmGenNeg: 0,
      auxWeight: 0,
      auxEmbedWeight: 0,
    };
    expect(() => checkSceneRecipe(earlier)).not.toThrow();
    expect(itmHeadOf(earlier)).toBe('fusion');
  });

  it('refuses --itm-head readout without the read-outs, naming the flags', () => {
    expect(() => checkSceneRecipe({ ...DEFAULT_TRAIN, auxEmbedWeight: 0, itmHead: 'readout' })).toThrow(
      /--itm-head readout .* needs --aux-embed-weight > 0 \(got 0\)/,
    );
  });

  it('falls back to the fusion head, with a note, where the data has no scene annotations', () => {
    const recipe = { capsPerImage: 8, negCaps: 2, itmGenNeg: 1, targets: true, cellSide: 6, seed: 1 };
    for (const [itmHead, expected] of [
      [undefined, /the default with scene annotations\) reads the scene read-outs/],
      ['readout', /--itm-head readout\) reads the scene read-outs/],
    ] as const) {
      const c = itmHead ? { ...DEFAULT_TRAIN, itmHead } : DEFAULT_TRAIN;
      const lines: string[] = [];
      expect(itmHeadOfRun(c, null, (l) => lines.push(l))).toBe('fusion');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
      expect(lines[0]).toMatch(
        /^note: .*this run’s ITM head is the cross-attention fusion \(--itm-head fusion\)$/,
      );
      // With the scene recipe on: the head asked for, silently.
      const quiet: string[] = [];
      expect(itmHeadOfRun(c, recipe, (l) => quiet.push(l))).toBe('readout');
      expect(quiet).toEqual([]);
    }
    const lines: string[] = [];
    expect(itmHeadOfRun({ ...DEFAULT_TRAIN, itmHead: 'fusion' }, null, (l) => lines.push(l))).toBe('fusion');
    expect(lines).toEqual([]);
  });
});

describe('the model with each ITM head', () => {
  it('readout: itmLogits is ReadoutItm over the probes’ read-outs of the two embeddings (before normalisation)', () => {
    manualSeed(3);
    const model = modelOf(tiny);
    model.eval();
    expect(model.itmHead).toBe('readout');
    expect(model.itm).toBeInstanceOf(ReadoutItm);
    noGrad(() => {
      const img = model.image.sequence(imageTensor(pictures(3, 1)));
      const { inputIds, textMask } = tokenTensors(ids, tokenizer.padId);
      const txt = model.text.sequence(inputIds, textMask);
      const probes = model.probes!;
      const expected = (model.itm as ReadoutItm).forward(
        probes.imageReadout.forward(model.image.embed(img)),
        probes.textReadout.forward(model.text.embed(txt, textMask)),
      );
      close(model.itmLogits(img, txt, textMask).dataSync(), expected.dataSync(), 1e-6);
      const e = Array.from(expected.dataSync());
      close(
        model.itmScore(img, txt, textMask).dataSync(),
        [0, 1, 2].map((i) => e[2 * i + 1]! - e[2 * i]!),
        1e-6,
      );
    });
  });

  it.each([
    ['readout', 'cls'],
    ['readout', 'mean'],
    ['fusion', 'cls'],
  ] as const)(
    '%s (text pool %s): re-ranking scores from precomputed sequences equal itmScore pair by pair',
    (head: ItmHead, textPool) => {
      manualSeed(4);
      const model = modelOf({ ...tiny, itmHead: head, textPool });
      model.eval();
      expect(model.itm).toBeInstanceOf(head === 'readout' ? ReadoutItm : IntermediateFusion);
      const images = pictures(4, 2);
      const seq = sequencesOf(model, images, ids, 2); // batches of 2: the read-outs are cut and joined
      expect(seq.readouts !== undefined).toBe(head === 'readout');
      const pairs = [
        [0, 0],
        [3, 2],
        [1, 1],
        [2, 0],
        [3, 0],
      ] as const;
      const got = itmScores(model, seq, pairs, 2);
      disposeSequences(seq);
      const want = pairs.map(([i, t]) =>
        noGrad(() => {
          const { inputIds, textMask } = tokenTensors([ids[t]!], tokenizer.padId);
          return model
            .itmScore(
              model.image.sequence(imageTensor([images[i]!])),
              model.text.sequence(inputIds, textMask),
              textMask,
            )
            .item();
        }),
      );
      close(got, want, 1e-5);
      expect(new Set(want.map((v) => v.toFixed(5))).size).toBeGreaterThan(1);
    },
  );

  it('readout without the scene probes is refused', () => {
    const c = modelConfigOf(
      { ...tiny, auxWeight: 0, auxEmbedWeight: 0 },
      { vocabSize: 9, padId: 0, maxLength: 8 },
    );
    expect(c.sceneProbes).toBeUndefined();
    expect(() => new RetrievalModel({ ...c, itmHead: 'readout' })).toThrow(/needs sceneProbes/);
  });
});

describe('bundles and the ITM head', () => {
  const saved = async (head: ItmHead) => {
    manualSeed(5);
    const model = modelOf({ ...tiny, itmHead: head });
    // Training-mode forwards move BatchNorm's running statistics off their initial values.
    for (let k = 0; k < 2; k++) model.embedImages(randn([4, 3, 24, 24]).mul(2).add(1)).dispose();
    model.eval();
    const dir = join(mkdtempSync(join(tmpdir(), 'retrieval-itm-head-')), 'bundle');
    await saveBundle(dir, model, tokenizer, preprocessorConfig(24));
    return { model, dir };
  };
  const scores = (model: RetrievalModel, images: RgbImage[]) => {
    const seq = sequencesOf(model, images, ids);
    try {
      return itmScores(model, seq, [
        [0, 0],
        [1, 2],
        [2, 1],
      ]);
    } finally {
      disposeSequences(seq);
    }
  };

  it('readout: the probes travel in the bundle; a loaded model scores pairs identically', async () => {
    const { model, dir } = await saved('readout');
    const loaded = await loadBundle(dir);
    expect(loaded.config.itmHead).toBe('readout');
    expect(loaded.model.itm).toBeInstanceOf(ReadoutItm);
    expect(Object.keys(loaded.model.stateDict()).filter((k) => k.startsWith('probes.'))).toHaveLength(6);
    const images = pictures(3, 7);
    expect(Array.from(scores(loaded.model, images))).toEqual(Array.from(scores(model, images)));
  });

  it('a bundle written before the option (no itmHead in config.json) loads as the fusion head', async () => {
    const { model, dir } = await saved('fusion');
    const file = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    expect(config.itmHead).toBe('fusion');
    expect(config.sceneProbes).toBe(true); // as the scene recipe's default run wrote them
    delete config.itmHead;
    writeFileSync(file, JSON.stringify(config, null, 2));
    const loaded = await loadBundle(dir);
    expect(loaded.config.itmHead).toBe('fusion');
    expect(loaded.model.itmHead).toBe('fusion');
    expect(loaded.model.itm).toBeInstanceOf(IntermediateFusion);
    const images = pictures(3, 8);
    expect(Array.from(scores(loaded.model, images))).toEqual(Array.from(scores(model, images)));
  });

  it('an unknown itmHead in config.json is refused, naming the valid ones', async () => {
    const { dir } = await saved('fusion');
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), itmHead: 'mlp' }));
    await expect(loadBundle(dir)).rejects.toThrow(/itmHead must be one of readout, fusion, got "mlp"/);
  });
});
