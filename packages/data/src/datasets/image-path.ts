import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, win32 } from 'node:path';

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

/**
 * `root/name` when `name` is a relative path that stays inside `root`, else a reason it does not:
 * dataset files come from others, and `../../etc/x` or `/abs/x` must not reach outside the folder
 * the caller chose. (Names with `..` that come back inside, like `a/../b.png`, are fine.)
 *
 * ```ts
 * confinedPath('data/val2014', 'x.jpg');          // { path: 'data/val2014/x.jpg' }
 * confinedPath('data/val2014', '../../secret.png'); // { problem: 'path leaves data/val2014' }
 * ```
 */
export function confinedPath(root: string, name: string): { path: string } | { problem: string } {
  if (name === '' || name.includes('\0')) return { problem: 'empty name or a NUL byte in it' };
  if (isAbsolute(name) || win32.isAbsolute(name))
    return { problem: 'absolute path (must be relative to its folder)' };
  const path = join(root, name);
  const rel = relative(resolve(root), resolve(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { problem: `path leaves ${root}` };
  return { path };
}
