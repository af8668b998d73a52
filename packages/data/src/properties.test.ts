import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { arange } from '@polymodal/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { patchify } from './image/patchify.js';
import { resize } from './image/resize.js';
import { arrayDataset, DataLoader } from './loading/data-loader.js';
import { WordPieceTokenizer } from './text/wordpiece-tokenizer.js';

const vocabText = readFileSync(fileURLToPath(new URL('../fixtures/text/vocab.txt', import.meta.url)), 'utf8');
const tok = WordPieceTokenizer.fromVocabText(vocabText);
const words = vocabText.split('\n').filter((w) => /^[a-z]+$/.test(w));

describe('properties', () => {
  it('decode(encode(text)) returns text made of vocabulary words', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 12 }), (ws) => {
        const text = ws.join(' ');
        const ids = tok.encode(text).inputIds;
        expect(ids).not.toContain(tok.specialId('unk'));
        expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(text);
      }),
      { numRuns: 100 },
    );
  });

  it('truncation never exceeds maxLength and keeps [CLS] … [SEP]', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 60 }),
        fc.string({ maxLength: 60 }),
        fc.integer({ min: 3, max: 20 }),
        (a, b, n) => {
          const e = tok.encode(a, b, { truncation: true, maxLength: n });
          expect(e.inputIds.length).toBeLessThanOrEqual(Math.max(n, 3));
          expect(e.inputIds[0]).toBe(2);
          expect(e.inputIds.at(-1)).toBe(3);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('resize of any image preserves a constant and stays within the input range (bilinear)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 1000 }),
        (w, h, ow, oh, seed) => {
          const data = Float32Array.from(
            { length: w * h * 3 },
            (_, i) => ((i * 7919 + seed) % 256) as number,
          );
          const out = resize({ width: w, height: h, data }, ow, oh, 'bilinear');
          let lo = Number.POSITIVE_INFINITY;
          let hi = Number.NEGATIVE_INFINITY;
          for (const v of data) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
          }
          // Bilinear weights are non-negative, so outputs are convex combinations of inputs.
          for (const v of out.data) {
            expect(v).toBeGreaterThanOrEqual(lo - 1e-3);
            expect(v).toBeLessThanOrEqual(hi + 1e-3);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('patchify is a permutation of the pixels', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        (p, gh, gw) => {
          const x = arange(2 * 3 * gh * p * gw * p).reshape([2, 3, gh * p, gw * p]);
          const y = patchify(x, p);
          expect(y.shape).toEqual([2, gh * gw, 3 * p * p]);
          expect(Array.from(y.dataSync()).sort((a, b) => a - b)).toEqual(Array.from(x.dataSync()));
          x.dispose();
          y.dispose();
        },
      ),
      { numRuns: 30 },
    );
  });

  it('every epoch visits each index exactly once for any batch size and seed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.nat(),
        async (n, bs, seed) => {
          const loader = new DataLoader(arrayDataset(Array.from({ length: n }, (_, i) => i)), {
            batchSize: bs,
            shuffle: true,
            seed,
            collate: (s) => s,
          });
          const seen: number[] = [];
          let batches = 0;
          for await (const b of loader) {
            seen.push(...b);
            batches++;
          }
          expect(batches).toBe(loader.length);
          expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        },
      ),
      { numRuns: 50 },
    );
  });
});
