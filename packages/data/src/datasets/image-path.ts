import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** COCO's file name for an image id: `cocoImageName('val2014', 42)` → `COCO_val2014_000000000042.jpg`. */
export function cocoImageName(split: string, imageId: number, extension = 'jpg'): string {
  return `COCO_${split}_${String(imageId).padStart(12, '0')}.${extension}`;
}

/** First existing `COCO_<split>_<id>.<ext>` in `dir` over `extensions`, else `null`. */
export function findCocoImage(
  dir: string,
  split: string,
  imageId: number,
  extensions: readonly string[],
): string | null {
  for (const ext of extensions) {
    const p = join(dir, cocoImageName(split, imageId, ext));
    if (existsSync(p)) return p;
  }
  return null;
}
