import type { Scene } from '@polymodal/data';

/**
 * For tests: a scene worked out by hand (y grows downwards): A = small red circle at (10, 10), B = large
 * blue square at (12, 40), C = large green triangle at (40, 12). A–B is clearly vertical, A–C
 * clearly horizontal, B–C a diagonal (both relations plausible, so no clear pair caption).
 */
export const SCENE: Scene = {
  width: 48,
  height: 48,
  objects: [
    { shape: 'circle', color: 'red', size: 'small', x: 10, y: 10, radius: 3 },
    { shape: 'square', color: 'blue', size: 'large', x: 12, y: 40, radius: 4 },
    { shape: 'triangle', color: 'green', size: 'large', x: 40, y: 12, radius: 4 },
  ],
};
