import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkPositiveInt } from '@polymodal/tensor';
import { cocoImageName } from '../datasets/image-path.js';
import { imageGenerator } from './generate-dataset.js';
import { captionHolds, objectKey, type RelationCaption, relationCaptionText } from './relation-captions.js';
import { renderScenePng } from './render-scene.js';
import {
  type GroupImage,
  type RetrievalGroupOptions,
  resolveRetrievalGroupOptions,
  sampleRetrievalGroup,
} from './retrieval-groups.js';
import type { Scene } from './scene.js';

export interface GenerateRetrievalOptions extends RetrievalGroupOptions {
  /** Number of images (the last group is cut to make exactly this many). */
  images: number;
  seed?: number;
  /** Output folder. */
  out: string;
  /** Split name in file names (`COCO_<split>_…`, `captions_<split>.json`). Default `test2014`. */
  split?: string;
  /** Called after each image with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** One group of `retrieval_groups_<split>.json`. */
export interface RetrievalGroupRecord {
  group_id: number;
  images: {
    image_id: number;
    kind: GroupImage['kind'];
    changed: GroupImage['changed'];
    /**
     * Each caption with its COCO annotation id, its text, and `holds_for`: the ids of every image
     * of the set it (leniently) holds for — its own and, by chance, images of other groups.
     */
    captions: (RelationCaption & { id: number; text: string; holds_for: number[] })[];
    scene: Scene;
  }[];
}

export interface GenerateRetrievalResult {
  images: number;
  groups: number;
  captions: number;
  /** Captions that also hold for an image of another group (see `holds_for`). */
  captionsTrueElsewhere: number;
  files: { captions: string; groups: string; imageDir: string };
}

/**
 * Which images contain an object of each kind: a caption can only hold where both of its objects
 * are, so looking a caption up costs a set intersection instead of a pass over every scene.
 *
 * ```ts
 * const index = new SceneIndex(); scenes.forEach((s) => index.add(s));
 * index.holdsIn(caption); // indices (in insertion order) of the scenes the caption holds for
 * ```
 */
export class SceneIndex {
  private readonly byObject = new Map<string, Set<number>>();
  readonly scenes: Scene[] = [];

  add(scene: Scene): void {
    const id = this.scenes.length;
    this.scenes.push(scene);
    for (const o of scene.objects) {
      const key = objectKey(o);
      let set = this.byObject.get(key);
      if (!set) this.byObject.set(key, (set = new Set()));
      set.add(id);
    }
  }

  /** Indices of the scenes where the caption holds (`captionHolds`, lenient). */
  holdsIn(caption: RelationCaption, ratio = 2): number[] {
    const a = this.byObject.get(objectKey(caption.subject));
    const b = this.byObject.get(objectKey(caption.object));
    if (!a || !b) return [];
    const out: number[] = [];
    for (const id of a) if (b.has(id) && captionHolds(this.scenes[id]!, caption, ratio)) out.push(id);
    return out.sort((x, y) => x - y);
  }
}

/**
 * Writes a hard image–text retrieval set (see `sampleRetrievalGroup`): groups of an original scene
 * and its distractors, in the COCO captions layout (`annotations/captions_<split>.json`,
 * `<split>/COCO_<split>_<id>.png`, so `readCocoCaptions` loads it) plus
 * `retrieval_groups_<split>.json` with each image's group, distractor kind, changed attribute,
 * scene and structured captions. Image ids run 1..images in group order. Byte-identical output for
 * the same options; group i draws from `imageGenerator(seed, i)` alone, so any prefix regenerates
 * identically.
 *
 * With 36 kinds of object (6 colours × 3 shapes × 2 sizes) and 3–6 objects per scene, a caption
 * about two objects also holds, by chance, for a few images of other groups once a set has
 * hundreds of images (about 5 per caption at 1,000 images). Those are right answers, not
 * negatives: each caption lists them in `holds_for`, so an evaluation can leave them out of the
 * negatives (as ECCV Caption, Chun et al. 2022, does for COCO's false negatives) and a training
 * loop can keep them out of a batch's negatives.
 *
 * ```ts
 * await generateRetrievalDataset({ images: 1000, seed: 2, out: 'data/retrieval-test', size: 48 });
 * const { samples } = await readCocoCaptions({ annotationsFile: 'data/retrieval-test/annotations/captions_test2014.json',
 *   imageDir: 'data/retrieval-test/test2014' });
 * ```
 */
export async function generateRetrievalDataset(
  options: GenerateRetrievalOptions,
): Promise<GenerateRetrievalResult> {
  const { images, out } = options;
  checkPositiveInt('generateRetrievalDataset', 'images', images);
  const resolved = resolveRetrievalGroupOptions(options);
  const seed = options.seed ?? 0;
  const split = options.split ?? 'test2014';
  const imageDir = join(out, split);
  await mkdir(imageDir, { recursive: true });
  await mkdir(join(out, 'annotations'), { recursive: true });

  const index = new SceneIndex();
  const records: RetrievalGroupRecord[] = [];
  const cocoImages: unknown[] = [];
  const captions: { image_id: number; id: number; caption: string }[] = [];
  let written = 0;
  for (let groupIndex = 0; written < images; groupIndex++) {
    const group = sampleRetrievalGroup(imageGenerator(seed, groupIndex), resolved).slice(0, images - written);
    const record: RetrievalGroupRecord = { group_id: groupIndex + 1, images: [] };
    for (const im of group) {
      const imageId = ++written;
      const fileName = cocoImageName(split, imageId, 'png');
      await writeFile(join(imageDir, fileName), await renderScenePng(im.scene));
      cocoImages.push({
        id: imageId,
        file_name: fileName,
        width: im.scene.width,
        height: im.scene.height,
        license: 0,
      });
      const withIds = im.captions.map((c) => {
        const id = captions.length + 1;
        const text = relationCaptionText(c);
        captions.push({ image_id: imageId, id, caption: text });
        return { ...c, id, text, holds_for: [] as number[] };
      });
      record.images.push({
        image_id: imageId,
        kind: im.kind,
        changed: im.changed,
        captions: withIds,
        scene: im.scene,
      });
      index.add(im.scene);
      options.onProgress?.(written, images);
    }
    records.push(record);
  }
  // Image ids are 1-based insertion order, so index i is image i + 1.
  let captionsTrueElsewhere = 0;
  for (const r of records) {
    for (const im of r.images) {
      for (const c of im.captions) {
        c.holds_for = index.holdsIn(c, resolved.relationRatio).map((i) => i + 1);
        if (c.holds_for.length > 1) captionsTrueElsewhere++;
      }
    }
  }
  const info = {
    description: `Hard retrieval groups generated by @polymodal/data (seed ${seed})`,
    version: '1.0',
    year: 2026,
  };
  const license = { id: 0, name: 'CC0', url: 'https://creativecommons.org/publicdomain/zero/1.0/' };
  const files = {
    captions: join(out, 'annotations', `captions_${split}.json`),
    groups: join(out, `retrieval_groups_${split}.json`),
    imageDir,
  };
  await writeFile(
    files.captions,
    JSON.stringify({ info, licenses: [license], images: cocoImages, annotations: captions }),
  );
  await writeFile(files.groups, JSON.stringify({ info, options: { ...resolved, seed }, groups: records }));
  return { images: written, groups: records.length, captions: captions.length, captionsTrueElsewhere, files };
}
