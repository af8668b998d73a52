import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeImageFile, decodeImageJs, encodeJpeg, encodePng } from './decode-image.js';
import { ImageDecodeError } from './image-decode-error.js';
import { pixelAt, type RgbImage } from './rgb-image.js';

function checker(): RgbImage {
  const data = new Float32Array(8 * 6 * 3);
  for (let y = 0; y < 6; y++)
    for (let x = 0; x < 8; x++) data.set([x * 30, y * 40, (x + y) % 2 ? 255 : 0], (y * 8 + x) * 3);
  return { width: 8, height: 6, data };
}

describe('decodeImage', () => {
  it('decodes PNG exactly with sharp and with the JS fallback', async () => {
    const png = encodePng(checker());
    for (const backend of ['sharp', 'js', 'auto'] as const) {
      const img = await decodeImage(png, { backend });
      expect([img.width, img.height]).toEqual([8, 6]);
      expect(Array.from(img.data)).toEqual(Array.from(checker().data));
    }
  });

  it('decodes JPEG with both backends to nearly the same pixels', async () => {
    const flat: RgbImage = { width: 16, height: 16, data: new Float32Array(16 * 16 * 3).fill(128) };
    const jpg = encodeJpeg(flat, 95);
    const a = await decodeImage(jpg, { backend: 'sharp' });
    const b = await decodeImage(jpg, { backend: 'js' });
    expect(Math.abs(pixelAt(a, 5, 5)[0] - 128)).toBeLessThanOrEqual(2);
    expect(Math.abs(pixelAt(a, 5, 5)[1] - pixelAt(b, 5, 5)[1])).toBeLessThanOrEqual(2);
  });

  it('throws ImageDecodeError naming the file for corrupt, truncated and missing files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pm-decode-'));
    const png = encodePng(checker());
    const truncated = join(dir, 'truncated.png');
    writeFileSync(truncated, png.subarray(0, png.length - 30));
    const garbage = join(dir, 'garbage.jpg');
    writeFileSync(garbage, Buffer.from('not an image at all'));
    await expect(decodeImageFile(truncated)).rejects.toThrow(ImageDecodeError);
    await expect(decodeImageFile(truncated)).rejects.toThrow(/truncated\.png/);
    await expect(decodeImageFile(garbage)).rejects.toThrow(
      /garbage\.jpg: not a PNG, JPEG, WebP, GIF, TIFF or AVIF image/,
    );
    await expect(decodeImageFile(join(dir, 'missing.png'))).rejects.toThrow(/missing\.png: ENOENT/);
    expect(() => decodeImageJs(png.subarray(0, 40), 'x.png')).toThrow(/x\.png/);
  });
});
