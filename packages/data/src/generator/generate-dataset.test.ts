import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCli } from '../cli.js';
import { readCocoCaptions } from '../datasets/coco-captions.js';
import { readVqaV2 } from '../datasets/vqa-v2.js';
import { decodeImageFile } from '../image/decode-image.js';
import { pixelAt } from '../image/rgb-image.js';
import { generateDataset } from './generate-dataset.js';
import { COLORS } from './scene.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'pm-gen-'));
const files = (dir: string): Record<string, Buffer> => {
  const out: Record<string, Buffer> = {};
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out[prefix + e.name] = readFileSync(join(d, e.name));
    }
  };
  walk(dir, '');
  return out;
};

describe('generateDataset', () => {
  it('is byte-identical for the same seed and differs for another', async () => {
    const opts = { images: 3, size: 32, objects: 4 };
    const [a, b, c] = [tmp(), tmp(), tmp()];
    await generateDataset({ ...opts, seed: 7, out: a });
    await generateDataset({ ...opts, seed: 7, out: b });
    await generateDataset({ ...opts, seed: 8, out: c });
    const fa = files(a);
    expect(Object.keys(fa).sort()).toEqual([
      'annotations/captions_train2014.json',
      'scenes_train2014.json',
      'train2014/COCO_train2014_000000000001.png',
      'train2014/COCO_train2014_000000000002.png',
      'train2014/COCO_train2014_000000000003.png',
      'v2_OpenEnded_mscoco_train2014_questions.json',
      'v2_mscoco_train2014_annotations.json',
    ]);
    const fb = files(b);
    for (const k of Object.keys(fa)) expect(fb[k]!.equals(fa[k]!)).toBe(true);
    expect(
      files(c)['train2014/COCO_train2014_000000000001.png']!.equals(
        fa['train2014/COCO_train2014_000000000001.png']!,
      ),
    ).toBe(false);
  });

  it('writes VQA v2 and COCO captions layouts that the readers load, with pixels matching the scene', async () => {
    const out = tmp();
    const res = await generateDataset({ images: 2, seed: 1, out, size: 48, objects: 3, split: 'val2014' });
    const { samples } = await readVqaV2({ root: out, split: 'val2014' });
    expect(samples).toHaveLength(res.questions);
    expect(samples[0]!.answers).toHaveLength(10);
    expect(new Set(samples.map((s) => s.answerType))).toContain('other');
    const caps = await readCocoCaptions({
      annotationsFile: res.files.captions,
      imageDir: res.files.imageDir,
    });
    expect(caps.samples.map((s) => s.captions.length)).toEqual([3, 3]);
    // The centre pixel of each object has its colour; the corner is white background.
    const scenes = JSON.parse(readFileSync(res.files.scenes, 'utf8')).scenes;
    const img = await decodeImageFile(samples[0]!.imagePath);
    expect(pixelAt(img, 0, 0)).toEqual([255, 255, 255]);
    for (const o of scenes[0].objects)
      expect(pixelAt(img, o.x, o.y)).toEqual([...COLORS[o.color as keyof typeof COLORS]]);
    // Every "what shape is the <colour> object" answer agrees with the scene.
    for (const s of samples.filter((x) => x.imageId === 1)) {
      const m = /^What shape is the (\w+) object\?$/.exec(s.question);
      if (m)
        expect(s.multipleChoiceAnswer).toBe(
          scenes[0].objects.find((o: { color: string }) => o.color === m[1]).shape,
        );
    }
  });

  it('CLI prints plain progress lines when not on a TTY', async () => {
    const out = tmp();
    const lines: string[] = [];
    await createCli((l) => lines.push(l), false).run([
      'generate',
      '--images',
      '4',
      '--seed',
      '1',
      '--out',
      out,
      '--size',
      '32',
    ]);
    expect(lines).toEqual([
      'generated 1/4 images',
      'generated 2/4 images',
      'generated 3/4 images',
      'generated 4/4 images',
      expect.stringMatching(/^wrote 4 images, \d+ questions, 12 captions to /),
    ]);
    await expect(createCli(() => undefined, false).run(['generate', '--images', '1'])).rejects.toThrow(
      /--out/,
    );
  });
});
