import { existsSync } from 'node:fs';
import { DatasetError } from './dataset-error.js';
import { confinedPath } from './image-path.js';
import { field, readJsonFile } from './json-schema.js';
import { type OnError, SkipReport } from './skip-report.js';

/** One COCO image with all its captions. */
export interface CaptionSample {
  imageId: number;
  imagePath: string;
  captions: string[];
  captionIds: number[];
}

export interface ReadCocoCaptionsOptions {
  /** Path of `captions_<split>.json`. */
  annotationsFile: string;
  /** Folder of the images named by `file_name` (a name that leads outside it is refused). */
  imageDir: string;
  onError?: OnError;
  report?: SkipReport;
}

const READER = 'readCocoCaptions';

/**
 * Reads COCO captions (Chen et al. 2015, "Microsoft COCO Captions"): `captions_<split>.json` with
 * `images[{id, file_name}]` and `annotations[{id, image_id, caption}]`, grouped per image.
 *
 * ```ts
 * const { samples } = await readCocoCaptions({ annotationsFile: 'annotations/captions_val2014.json', imageDir: 'val2014' });
 * samples[0].captions; // ~5 strings
 * ```
 */
export async function readCocoCaptions(
  options: ReadCocoCaptionsOptions,
): Promise<{ samples: CaptionSample[]; report: SkipReport }> {
  const file = options.annotationsFile;
  const report = options.report ?? new SkipReport();
  const json = await readJsonFile(READER, file);
  const byId = new Map<number, CaptionSample>();
  const order: CaptionSample[] = [];
  const escaped = new Set<CaptionSample>();
  field<unknown[]>(READER, file, 'root', json, 'images', 'array').forEach((img, i) => {
    const id = field<number>(READER, file, `images[${i}]`, img, 'id', 'number');
    const name = field<string>(READER, file, `images[${i}]`, img, 'file_name', 'string');
    if (byId.has(id)) throw new DatasetError(READER, file, `images[${i}] repeats image id ${id}`);
    const where = confinedPath(options.imageDir, name);
    const s: CaptionSample = {
      imageId: id,
      imagePath: 'path' in where ? where.path : name,
      captions: [],
      captionIds: [],
    };
    if ('problem' in where) {
      // Never resolved against the disk: reported (or thrown) below with the other bad images.
      if ((options.onError ?? 'throw') === 'throw')
        throw new DatasetError(
          READER,
          file,
          `images[${i}] (id ${id}) file_name ${JSON.stringify(name)}: ${where.problem}`,
        );
      escaped.add(s);
      report.skip(name, where.problem);
    }
    byId.set(id, s);
    order.push(s);
  });
  field<unknown[]>(READER, file, 'root', json, 'annotations', 'array').forEach((a, i) => {
    const path = `annotations[${i}]`;
    const imageId = field<number>(READER, file, path, a, 'image_id', 'number');
    const s = byId.get(imageId);
    if (!s)
      throw new DatasetError(READER, file, `${path} refers to image_id ${imageId}, which is not in images`);
    const caption = field<string>(READER, file, path, a, 'caption', 'string');
    if (caption.trim() === '') {
      report.empty += 1;
      return;
    }
    s.captions.push(caption);
    s.captionIds.push(field<number>(READER, file, path, a, 'id', 'number'));
  });
  report.total += order.length;
  const samples: CaptionSample[] = [];
  for (const s of order) {
    if (escaped.has(s)) continue;
    if (!existsSync(s.imagePath)) {
      if ((options.onError ?? 'throw') === 'throw') {
        throw new DatasetError(READER, file, `image ${s.imageId} file ${s.imagePath} does not exist`);
      }
      report.skip(s.imagePath, 'image not found');
      continue;
    }
    samples.push(s);
  }
  return { samples, report };
}
