import { readFileSync } from 'node:fs';
import type { Tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { hfProcessorType } from './hf-image-processors.js';
import { ImageProcessor, type PreprocessorConfig } from './image-processor.js';
import { PIL_RESAMPLE, resize } from './resize.js';
import type { RgbImage } from './rgb-image.js';

// Golden values: scripts/make-hf-processor-fixtures.py redoes Hugging Face's PIL-based image
// processors step by step with Pillow 9.4 and numpy (resize on the 8-bit image with PIL, HF's
// center_crop, float64 rescale → float32, float32 normalize; ViLT's resize rule and batch padding).
interface Encoded {
  width: number;
  height: number;
}
interface Fixture {
  images: (Encoded & { uint8: string })[];
  cases: {
    name: string;
    config: PreprocessorConfig;
    outputs: { resized: Encoded & { uint8: string }; chw: Encoded & { float32: string } }[];
    batch?: { shape: number[]; mask: string };
  }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/hf-image-processor.json', import.meta.url), 'utf8'),
) as Fixture;
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const floats = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const images: RgbImage[] = fixture.images.map((im) => ({
  width: im.width,
  height: im.height,
  data: Float32Array.from(bytes(im.uint8)),
}));
const caseNamed = (name: string) => fixture.cases.find((c) => c.name === name)!;
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('ImageProcessor against Hugging Face (PIL) processors', () => {
  it('the fixture covers every processor type and resampling filter', () => {
    const types = new Set(fixture.cases.map((c) => hfProcessorType(c.config) ?? 'generic'));
    expect([...types].sort()).toEqual([
      'BlipImageProcessor',
      'CLIPImageProcessor',
      'SiglipImageProcessor',
      'ViTImageProcessor',
      'ViltImageProcessor',
      'generic',
    ]);
    const filters = new Set(fixture.cases.map((c) => ImageProcessor.fromConfig(c.config).resample));
    expect([...filters].sort()).toEqual(Object.values(PIL_RESAMPLE).sort());
  });

  for (const c of fixture.cases) {
    it(`${c.name}: sizes, 8-bit resize and final pixels equal HF's bit for bit`, () => {
      const proc = ImageProcessor.fromConfig(c.config);
      images.forEach((img, i) => {
        const want = c.outputs[i]!;
        // The PIL resize alone (before crop), through the public resize().
        const resized = resize(img, want.resized.width, want.resized.height, proc.resample, { uint8: true });
        expect(Array.from(resized.data), `${c.name} image ${i} resize`).toEqual(
          Array.from(bytes(want.resized.uint8)),
        );
        // The whole pipeline.
        const out = proc.preprocessToChw(img);
        expect([out.width, out.height], `${c.name} image ${i} size`).toEqual([
          want.chw.width,
          want.chw.height,
        ]);
        expect(maxAbsDiff(out.chw, floats(want.chw.float32)), `${c.name} image ${i}`).toBe(0);
      });
    });
  }

  it("reads CLIP's bare-number size as a shortest edge, then centre-crops (not a square resize)", () => {
    const c = caseNamed('clip-int-size');
    const clip = ImageProcessor.fromConfig(c.config);
    expect(clip.processorType).toBe('CLIPImageProcessor');
    expect(clip.size).toEqual({ kind: 'shortest', edge: 16 });
    expect(clip.cropSize).toEqual({ width: 14, height: 14 });
    // The old reading (an exact 16×16 square, then the crop) is far from HF on a 37×23 image.
    const square = new ImageProcessor({ ...c.config, default_to_square: true }).preprocessToChw(images[0]!);
    expect(maxAbsDiff(square.chw, floats(c.outputs[0]!.chw.float32))).toBeGreaterThan(1);
  });

  it('reads ViT and BLIP bare-number sizes as squares, SigLIP and ViLT as shortest edges', () => {
    expect(ImageProcessor.fromConfig({ image_processor_type: 'ViTImageProcessor', size: 12 }).size).toEqual({
      kind: 'exact',
      width: 12,
      height: 12,
    });
    expect(ImageProcessor.fromConfig({ image_processor_type: 'BlipImageProcessor', size: 9 }).size).toEqual({
      kind: 'exact',
      width: 9,
      height: 9,
    });
    expect(ImageProcessor.fromConfig({ image_processor_type: 'SiglipImageProcessor', size: 9 }).size).toEqual(
      {
        kind: 'shortest',
        edge: 9,
      },
    );
    expect(
      ImageProcessor.fromConfig({ feature_extractor_type: 'ViltFeatureExtractor', size: 384 }).size,
    ).toEqual({
      kind: 'vilt',
      shorter: 384,
      longer: 639,
      divisor: 32,
    });
  });

  it("uses each type's defaults for missing keys", () => {
    const clip = ImageProcessor.fromConfig({ image_processor_type: 'CLIPImageProcessor' });
    expect([clip.size, clip.resample, clip.doCenterCrop, clip.cropSize]).toEqual([
      { kind: 'shortest', edge: 224 },
      'bicubic',
      true,
      { width: 224, height: 224 },
    ]);
    expect(clip.imageMean).toEqual([0.48145466, 0.4578275, 0.40821073]);
    const vit = ImageProcessor.fromConfig({ image_processor_type: 'ViTImageProcessor' });
    expect([vit.size, vit.resample, vit.doCenterCrop, vit.imageMean]).toEqual([
      { kind: 'exact', width: 224, height: 224 },
      'bilinear',
      false,
      [0.5, 0.5, 0.5],
    ]);
    const blip = ImageProcessor.fromConfig({ image_processor_type: 'BlipImageProcessorFast' });
    expect([blip.processorType, blip.size, blip.resample]).toEqual([
      'BlipImageProcessor',
      { kind: 'exact', width: 384, height: 384 },
      'bicubic',
    ]);
    const kosmos = ImageProcessor.fromConfig({
      image_processor_type: 'CLIPImageProcessor',
      use_square_size: true,
    });
    expect(kosmos.size).toEqual({ kind: 'exact', width: 224, height: 224 });
    // No known type: read key by key, as before.
    const generic = ImageProcessor.fromConfig({ image_processor_type: 'SomeOtherProcessor', size: 8 });
    expect([generic.processorType, generic.size]).toEqual([
      'generic',
      { kind: 'exact', width: 8, height: 8 },
    ]);
    expect(() => new ImageProcessor({}, { processorType: 'Nope' })).toThrow(/processorType 'Nope'/);
  });

  it('ViLT pads a batch to its largest image with a pixel mask, as HF', () => {
    const c = caseNamed('vilt');
    const { pixelValues, pixelMask } = ImageProcessor.fromConfig(c.config).call(images);
    expect(pixelValues.shape).toEqual(c.batch!.shape);
    const [n, , h, w] = c.batch!.shape as [number, number, number, number];
    expect(Array.from((pixelMask as Tensor).dataSync())).toEqual(Array.from(bytes(c.batch!.mask)));
    const values = pixelValues.dataSync();
    for (let i = 0; i < n; i++) {
      const { chw } = c.outputs[i]!;
      const want = floats(chw.float32);
      for (let ch = 0; ch < 3; ch++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) {
            const inside = y < chw.height && x < chw.width;
            const expected = inside ? want[(ch * chw.height + y) * chw.width + x]! : 0;
            expect(values[((i * 3 + ch) * h + y) * w + x]).toBe(expected);
          }
    }
    pixelValues.dispose();
    pixelMask!.dispose();
  });

  it('resampling floats instead of bytes misses HF (no rounding, no clipping between passes)', () => {
    const c = caseNamed('clip-int-size');
    const f = ImageProcessor.fromConfig(c.config, { resampleIn: 'float' });
    const diff = Math.max(
      ...images.map((img, i) => maxAbsDiff(f.preprocessToChw(img).chw, floats(c.outputs[i]!.chw.float32))),
    );
    // One intensity step is 1/255/0.27 ≈ 0.015 after CLIP's normalisation; on noise, bicubic
    // overshoots that PIL clips after the horizontal pass make it several steps (0.15 here).
    expect(diff).toBeGreaterThan(0.1);
  });

  it('rejects non-byte pixels when resampling in uint8, and sizes that round to zero', () => {
    const proc = ImageProcessor.fromConfig(caseNamed('clip-int-size').config);
    const img: RgbImage = { width: 2, height: 2, data: new Float32Array(12).fill(0.5) };
    expect(() => proc.preprocess(img)).toThrow(/integer pixels in \[0, 255\].*x=0, y=0/);
    expect(() =>
      ImageProcessor.fromConfig(caseNamed('clip-int-size').config, { resampleIn: 'float' }).preprocess(img),
    ).not.toThrow();
    const vilt = ImageProcessor.fromConfig({ feature_extractor_type: 'ViltFeatureExtractor', size: 16 });
    expect(() => vilt.preprocess({ width: 40, height: 8, data: new Float32Array(40 * 8 * 3) })).toThrow(
      /resizes to 0×16|resizes to/,
    );
  });
});
