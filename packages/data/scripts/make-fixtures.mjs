// Writes the tiny images the dataset fixtures refer to (the JSON fixtures are hand-written).
// Run once from packages/data: node scripts/make-fixtures.mjs
import { writeFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

function pixels(w, h, seed) {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      data[i] = (x * 16 + seed * 40) % 256;
      data[i + 1] = (y * 16 + seed * 70) % 256;
      data[i + 2] = (seed * 90) % 256;
      data[i + 3] = 255;
    }
  return data;
}
const jpg = (path, w, h, seed) =>
  writeFileSync(path, jpeg.encode({ data: pixels(w, h, seed), width: w, height: h }, 90).data);
const png = (path, w, h, seed) => {
  const p = new PNG({ width: w, height: h });
  pixels(w, h, seed).copy(p.data);
  writeFileSync(path, PNG.sync.write(p));
};

jpg('fixtures/vqa/val2014/COCO_val2014_000000000042.jpg', 16, 12, 1);
jpg('fixtures/vqa/val2014/COCO_val2014_000000000073.jpg', 12, 16, 2);
png('fixtures/vqa/val2014/COCO_val2014_000000000074.png', 16, 16, 3);
// Truncated on purpose: the loader's onError tests read it.
const whole = jpeg.encode({ data: pixels(16, 16, 4), width: 16, height: 16 }, 90).data;
writeFileSync('fixtures/vqa/val2014/COCO_val2014_000000000099.jpg', whole.subarray(0, 120));
jpg('fixtures/coco/val2014/COCO_val2014_000000000042.jpg', 16, 12, 1);
jpg('fixtures/coco/val2014/COCO_val2014_000000000073.jpg', 12, 16, 2);
png('fixtures/clevr/images/val/CLEVR_val_000000.png', 16, 12, 5);
png('fixtures/clevr/images/val/CLEVR_val_000001.png', 16, 12, 6);
