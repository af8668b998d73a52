import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArgumentError, Generator } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { readCocoCaptions } from '../datasets/coco-captions.js';
import { decodeImageFile } from '../image/decode-image.js';
import { rasterizeScene } from './draw-scene.js';
import { generateRetrievalDataset, type RetrievalGroupRecord } from './generate-retrieval-dataset.js';
import {
  captionHolds,
  clearRelation,
  plausibleRelations,
  type RelationCaption,
  relationCaptionText,
  reverseCaption,
} from './relation-captions.js';
import { sampleRetrievalGroup } from './retrieval-groups.js';
import type { Scene, SceneObject } from './scene.js';

/** Hand-placed (y grows downwards): red small circle (10,10), blue large square (12,40), green small triangle (40,12). */
const scene: Scene = {
  width: 48,
  height: 48,
  objects: [
    { shape: 'circle', color: 'red', size: 'small', x: 10, y: 10, radius: 3 },
    { shape: 'square', color: 'blue', size: 'large', x: 12, y: 40, radius: 4 },
    { shape: 'triangle', color: 'green', size: 'small', x: 40, y: 12, radius: 3 },
  ],
};
const red = { size: 'small', color: 'red', shape: 'circle' } as const;
const blue = { size: 'large', color: 'blue', shape: 'square' } as const;
const green = { size: 'small', color: 'green', shape: 'triangle' } as const;

describe('relations and captions', () => {
  it('reads clear and near-diagonal relations off positions', () => {
    expect(plausibleRelations({ x: 10, y: 10 }, { x: 12, y: 40 })).toEqual(['above']);
    expect(plausibleRelations({ x: 12, y: 40 }, { x: 10, y: 10 })).toEqual(['below']);
    expect(plausibleRelations({ x: 10, y: 10 }, { x: 40, y: 12 })).toEqual(['to the left of']);
    expect(plausibleRelations({ x: 10, y: 10 }, { x: 30, y: 25 })).toEqual(['above', 'to the left of']);
    expect(plausibleRelations({ x: 10, y: 10 }, { x: 10, y: 10 })).toEqual([]);
    expect(clearRelation({ x: 10, y: 10 }, { x: 30, y: 25 })).toBeNull();
    // Ratio 2: an offset of (10, 20) is just vertical enough; (11, 20) is not.
    expect(clearRelation({ x: 0, y: 0 }, { x: 10, y: 20 })).toBe('above');
    expect(clearRelation({ x: 0, y: 0 }, { x: 11, y: 20 })).toBeNull();
  });

  it('says a caption both ways and checks it against a scene', () => {
    const c: RelationCaption = { subject: red, relation: 'above', object: blue };
    expect(relationCaptionText(c)).toBe('a small red circle above a large blue square');
    expect(relationCaptionText(reverseCaption(c))).toBe('a large blue square below a small red circle');
    expect(captionHolds(scene, c)).toBe(true);
    expect(captionHolds(scene, reverseCaption(c))).toBe(true);
    expect(captionHolds(scene, { ...c, relation: 'below' })).toBe(false);
    expect(captionHolds(scene, { ...c, subject: { ...red, size: 'large' } })).toBe(false);
    expect(captionHolds(scene, { subject: red, relation: 'to the left of', object: green })).toBe(true);
    expect(captionHolds(scene, { subject: red, relation: 'to the left of', object: red })).toBe(false);
  });
});

/** How two objects differ: the attribute names that changed, and whether the centre moved. */
function diff(a: SceneObject, b: SceneObject): string[] {
  const out: string[] = (['color', 'shape', 'size'] as const).filter((k) => a[k] !== b[k]);
  if (a.x !== b.x || a.y !== b.y) out.push('place');
  return out;
}

function checkFits(s: Scene) {
  for (const [i, o] of s.objects.entries()) {
    expect(o.x - o.radius).toBeGreaterThanOrEqual(1);
    expect(o.y + o.radius).toBeLessThanOrEqual(s.height - 1);
    for (const p of s.objects.slice(i + 1))
      expect(Math.hypot(o.x - p.x, o.y - p.y)).toBeGreaterThan(o.radius + p.radius + 2);
  }
}

describe('sampleRetrievalGroup', () => {
  it('builds an original and three distractors that each differ in exactly one way', () => {
    for (let seed = 0; seed < 40; seed++) {
      const group = sampleRetrievalGroup(new Generator(seed), { size: 48 });
      expect(group).toEqual(sampleRetrievalGroup(new Generator(seed), { size: 48 }));
      expect(group.map((g) => g.kind)).toEqual(['original', 'subject', 'object', 'relation']);
      const [orig, subj, obj, rel] = group;
      const n = orig!.scene.objects.length;
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(6);
      for (const im of group) {
        checkFits(im.scene);
        expect(im.captions).toHaveLength(2);
        expect(im.captions[1]).toEqual(reverseCaption(im.captions[0]!));
        expect(new Set(im.scene.objects.map((o) => o.color)).size).toBe(im.scene.objects.length);
      }
      // Which objects does the caption name? The original's subject and object, by colour.
      const c = orig!.captions[0]!;
      const si = orig!.scene.objects.findIndex((o) => o.color === c.subject.color);
      const oi = orig!.scene.objects.findIndex((o) => o.color === c.object.color);
      const changes = (im: (typeof group)[number]) =>
        im.scene.objects
          .map((o, i) => [i, diff(orig!.scene.objects[i]!, o)] as const)
          .filter(([, d]) => d.length > 0);
      expect(changes(subj!)).toEqual([[si, [subj!.changed]]]);
      expect(changes(obj!)).toEqual([[oi, [obj!.changed]]]);
      expect(changes(rel!)).toEqual([
        [Math.min(si, oi), ['place']],
        [Math.max(si, oi), ['place']],
      ]);
      expect(rel!.captions[0]!.relation).not.toBe(c.relation);
      // Each image's captions hold for it and for no other image of its group.
      for (const [i, im] of group.entries()) {
        for (const [j, other] of group.entries()) {
          for (const cap of im.captions) expect(captionHolds(other.scene, cap)).toBe(i === j);
        }
      }
    }
  });

  it('takes distractor kinds, one caption per image, and refuses bad options', () => {
    const g = sampleRetrievalGroup(new Generator(3), {
      distractors: ['relation'],
      captionsPerImage: 1,
      minObjects: 4,
      maxObjects: 4,
    });
    expect(g.map((x) => [x.kind, x.captions.length, x.scene.objects.length])).toEqual([
      ['original', 1, 4],
      ['relation', 1, 4],
    ]);
    expect(() => sampleRetrievalGroup(new Generator(0), { maxObjects: 7 })).toThrow(ArgumentError);
    expect(() => sampleRetrievalGroup(new Generator(0), { distractors: ['colour' as 'subject'] })).toThrow(
      /unknown distractor kind 'colour'/,
    );
    expect(() => sampleRetrievalGroup(new Generator(0), { captionsPerImage: 3 as 2 })).toThrow(/1 or 2/);
  });
});

describe('generateRetrievalDataset', () => {
  it('writes COCO captions + groups that read back, byte-identical per seed, with correct holds_for', async () => {
    const [a, b] = [mkdtempSync(join(tmpdir(), 'pm-ret-')), mkdtempSync(join(tmpdir(), 'pm-ret-'))];
    const opts = { images: 30, seed: 5, size: 48 } as const;
    const result = await generateRetrievalDataset({ ...opts, out: a });
    await generateRetrievalDataset({ ...opts, out: b });
    expect(result).toMatchObject({ images: 30, groups: 8, captions: 60 });
    const files = [
      'annotations/captions_test2014.json',
      'retrieval_groups_test2014.json',
      'test2014/COCO_test2014_000000000030.png',
    ];
    for (const f of files) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f)))).toBe(true);
    expect(readdirSync(join(a, 'test2014'))).toHaveLength(30);
    const { samples } = await readCocoCaptions({
      annotationsFile: join(a, 'annotations/captions_test2014.json'),
      imageDir: join(a, 'test2014'),
    });
    expect(samples).toHaveLength(30);
    const { groups } = JSON.parse(readFileSync(join(a, 'retrieval_groups_test2014.json'), 'utf8')) as {
      groups: RetrievalGroupRecord[];
    };
    expect(groups.at(-1)!.images.map((x) => x.kind)).toEqual(['original', 'subject']); // cut to 30 images
    const scenes = groups.flatMap((g) => g.images.map((im) => im.scene));
    for (const g of groups) {
      for (const im of g.images) {
        const sample = samples.find((s) => s.imageId === im.image_id)!;
        expect(sample.captions).toEqual(im.captions.map((c) => c.text));
        for (const c of im.captions) {
          // holds_for, recomputed by brute force over every scene of the set.
          const expected = scenes.flatMap((s, i) => (captionHolds(s, c) ? [i + 1] : []));
          expect(c.holds_for).toEqual(expected);
          expect(c.holds_for).toContain(im.image_id);
          for (const other of g.images) if (other !== im) expect(c.holds_for).not.toContain(other.image_id);
        }
      }
    }
    // The PNG holds the recorded scene's pixels.
    const im = groups[2]!.images[3]!;
    const decoded = await decodeImageFile(
      join(a, 'test2014', `COCO_test2014_${String(im.image_id).padStart(12, '0')}.png`),
    );
    const rgba = rasterizeScene(im.scene);
    const rgb = Uint8Array.from({ length: 48 * 48 * 3 }, (_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)]!);
    expect(Buffer.from(decoded.data).equals(Buffer.from(rgb))).toBe(true);
    await expect(generateRetrievalDataset({ images: 0, out: a })).rejects.toThrow(/positive integer/);
  });
});
