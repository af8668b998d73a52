// Writes fixtures/scene-pixels.json: the SHA-256 of the RGBA bytes the Node renderer
// (@napi-rs/canvas) paints for a few seeded Sort-of-CLEVR scenes. The Node test
// (src/generator/scene-pixels.test.ts) and the browser test (scene-pixels.browser.test.ts,
// OffscreenCanvas in Chromium) both re-render these scenes and must reproduce every hash.
// Run from packages/data after a build: pnpm build && node scripts/write-scene-golden.mjs
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { Generator } from '@polymodal/tensor';

const dist = new URL('../dist/index.js', import.meta.url);
if (!existsSync(dist)) throw new Error('dist/ is missing: run `pnpm build` in packages/data first');
const { renderSceneRgba, sampleScene, SHAPES } = await import(dist.href);

// Sizes from tiny to large, both layouts, 1–6 objects; together they draw every shape small and large.
const specs = [
  { seed: 1, size: 75, objects: 6, layout: 'free' },
  { seed: 2, size: 64, objects: 6, layout: 'free' },
  { seed: 3, size: 48, objects: 4, layout: 'free' },
  { seed: 4, size: 100, objects: 6, layout: 'grid' },
  { seed: 5, size: 32, objects: 3, layout: 'free' },
  { seed: 6, size: 75, objects: 6, layout: 'grid' },
  { seed: 7, size: 128, objects: 5, layout: 'free' },
  { seed: 8, size: 64, objects: 1, layout: 'free' },
];

const scenes = [];
const drawn = new Set();
for (const { seed, ...options } of specs) {
  const scene = sampleScene(new Generator(seed), options);
  const rgba = await renderSceneRgba(scene);
  for (const o of scene.objects) drawn.add(`${o.size} ${o.shape}`);
  scenes.push({
    seed,
    ...options,
    objectList: scene.objects.map((o) => `${o.size} ${o.color} ${o.shape} at (${o.x}, ${o.y}) r ${o.radius}`),
    sha256: createHash('sha256').update(rgba).digest('hex'),
  });
}
for (const shape of SHAPES)
  for (const size of ['small', 'large'])
    if (!drawn.has(`${size} ${shape}`)) throw new Error(`no ${size} ${shape} among the golden scenes`);

const golden = {
  description:
    'SHA-256 of the RGBA bytes (width·height·4) of sampleScene(new Generator(seed), { size, objects, layout }) drawn by drawScene; written by scripts/write-scene-golden.mjs with the Node renderer (@napi-rs/canvas).',
  scenes,
};
const out = new URL('../fixtures/scene-pixels.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(golden, null, 2)}\n`);
console.log(`wrote ${scenes.length} scenes to fixtures/scene-pixels.json`);
