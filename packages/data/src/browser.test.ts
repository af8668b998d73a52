import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Generator } from '@polymodal/tensor';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pngFromRaw } from '../test/png-writer.js';
import * as browser from './browser.js';
import * as node from './index.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));

interface EsbuildResult {
  outputFiles: { text: string }[];
  metafile: { inputs: Record<string, unknown> };
}
interface Esbuild {
  build(options: Record<string, unknown>): Promise<EsbuildResult>;
}

/** esbuild is not a dependency of this package; the copy tsup ships is used (as in finetune's crash test). */
function loadEsbuild(): Esbuild {
  const fromTsup = createRequire(realpathSync(`${pkg}node_modules/tsup/package.json`));
  return fromTsup('esbuild') as Esbuild;
}

/** Bundles an entry for the browser with @polymodal/tensor left external (it is checked on its own). */
function bundleForBrowser(entry: string): Promise<EsbuildResult> {
  return loadEsbuild().build({
    entryPoints: [`${pkg}${entry}`],
    absWorkingDir: pkg,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    external: ['@polymodal/tensor'],
    logLevel: 'silent',
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('@polymodal/data/browser', () => {
  it('bundles for platform "browser" with no node:* module, native package or Node-only source', async () => {
    const { outputFiles, metafile } = await bundleForBrowser('src/browser.ts');
    const text = outputFiles[0]!.text;
    expect(text).not.toMatch(/node:/);
    expect(text).not.toMatch(/\brequire\(/);
    // The only import left in the bundle is the external tensor package.
    const imports = [...text.matchAll(/^import\s[^;]*?from\s*"([^"]+)"/gms)].map((m) => m[1]);
    expect(new Set(imports)).toEqual(new Set(['@polymodal/tensor']));
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.every((i) => i.startsWith('src/'))).toBe(true);
    for (const nodeOnly of [
      'src/image/decode-image.ts',
      'src/loading/image-decode-pool.ts',
      'src/generator/render-scene.ts',
      'src/datasets/vqa-v2.ts',
    ])
      expect(inputs).not.toContain(nodeOnly);
    expect(inputs).toContain('src/image/decode-image-browser.ts');
    expect(inputs).toContain('src/generator/render-scene-browser.ts');
  }, 30_000);

  it('the same check rejects the Node entry point (so it can fail)', async () => {
    await expect(bundleForBrowser('src/index.ts')).rejects.toThrow(/Could not resolve/);
  }, 30_000);

  it('exposes the browser-safe API and the browser decoder/renderer, and nothing Node-only', () => {
    for (const name of [
      'WordPieceTokenizer',
      'BasicTokenizer',
      'encodingToTensors',
      'ImageProcessor',
      'resize',
      'normalize',
      'imagesToTensor',
      'randomResizedCrop',
      'patchify',
      'sampleScene',
      'sceneQuestions',
      'sceneCaptions',
      'drawScene',
      'shapeSpans',
      'rasterizeScene',
      'DataLoader',
      'collate',
      'AnswerVocab',
      'decodeImageBrowser',
      'renderScenePngBrowser',
      'renderSceneRgbaBrowser',
    ])
      expect(browser, name).toHaveProperty(name);
    for (const name of [
      'decodeImage',
      'decodeImageFile',
      'ImageDecodePool',
      'renderScenePng',
      'renderSceneRgba',
      'generateDataset',
      'readVqaV2',
      'readWebDataset',
    ]) {
      expect(browser, name).not.toHaveProperty(name);
      expect(node, name).toHaveProperty(name);
    }
    // Shared exports are the same objects in both entries (one implementation).
    expect(browser.WordPieceTokenizer).toBe(node.WordPieceTokenizer);
    expect(browser.sampleScene).toBe(node.sampleScene);
  });

  it('is wired into package.json exports and the tsup entries', () => {
    const manifest = JSON.parse(readFileSync(`${pkg}package.json`, 'utf8')) as {
      exports: Record<string, Record<string, unknown>>;
    };
    expect(manifest.exports['./browser']).toEqual({
      '@polymodal/source': './src/browser.ts',
      types: './dist/browser.d.ts',
      default: './dist/browser.js',
    });
    expect(readFileSync(`${pkg}tsup.config.ts`, 'utf8')).toContain("'src/browser.ts'");
  });

  it('decodeImageBrowser turns the canvas RGBA pixels into RGB (createImageBitmap/OffscreenCanvas stubbed)', async () => {
    // A 2×1 image: opaque red, half-transparent blue (alpha dropped like PIL's convert('RGB')).
    const rgba = new Uint8ClampedArray([255, 0, 0, 255, 0, 0, 255, 128]);
    const closed: boolean[] = [];
    vi.stubGlobal('createImageBitmap', async (blob: Blob) => {
      expect(blob).toBeInstanceOf(Blob);
      return { width: 2, height: 1, close: () => closed.push(true) };
    });
    vi.stubGlobal(
      'OffscreenCanvas',
      class {
        constructor(
          readonly width: number,
          readonly height: number,
        ) {}
        getContext() {
          return { drawImage: () => undefined, getImageData: () => ({ data: rgba }) };
        }
      },
    );
    const img = await browser.decodeImageBrowser(new Uint8Array([1, 2, 3]), 'two.png');
    expect(img.width).toBe(2);
    expect(img.height).toBe(1);
    expect([...img.data]).toEqual([255, 0, 0, 0, 0, 255]);
    expect(closed).toEqual([true]);

    vi.stubGlobal('createImageBitmap', async () => {
      throw new Error('The source image could not be decoded.');
    });
    await expect(browser.decodeImageBrowser(new Uint8Array([0]), 'bad.jpg')).rejects.toThrow(
      browser.ImageDecodeError,
    );
    await expect(browser.decodeImageBrowser(new Uint8Array([0]), 'bad.jpg')).rejects.toThrow(/bad\.jpg/);

    // The pixel limit: a PNG header declaring 20000×20000 never reaches createImageBitmap; any
    // other image is checked on the bitmap's size before a canvas is allocated for it.
    let decoded = 0;
    vi.stubGlobal('createImageBitmap', async () => {
      decoded++;
      return { width: 30000, height: 10000, close: () => closed.push(true) };
    });
    const bomb = pngFromRaw({ width: 20000, height: 20000, colorType: 2, depth: 8 }, new Uint8Array(8));
    await expect(browser.decodeImageBrowser(bomb, 'bomb.png')).rejects.toThrow(
      /bomb\.png: png: 20000×20000 = 400,000,000 pixels is over the limit of 268,402,689/,
    );
    expect(decoded).toBe(0);
    await expect(browser.decodeImageBrowser(new Blob([new Uint8Array(bomb)]), 'bomb.png')).rejects.toThrow(
      /over the limit/,
    );
    expect(decoded).toBe(0);
    await expect(browser.decodeImageBrowser(new Uint8Array([1, 2]), 'big.webp')).rejects.toThrow(
      /big\.webp: 30000×10000 = 300,000,000 pixels is over the limit/,
    );
    expect(decoded).toBe(1);
  });

  it('renderScenePngBrowser issues the shared drawing commands on an OffscreenCanvas (stubbed)', async () => {
    const scene = browser.sampleScene(new Generator(3), { size: 48, objects: 3 });
    const calls: string[] = [];
    const recorder = () =>
      new Proxy(
        { fillStyle: '' },
        {
          get: (target, prop) =>
            prop === 'fillStyle'
              ? target.fillStyle
              : (...args: number[]) => {
                  calls.push(`${String(prop)}(${args.join(',')})`);
                },
          set: (target, prop, value: string) => {
            if (prop === 'fillStyle') {
              target.fillStyle = value;
              calls.push(`fillStyle=${value}`);
            }
            return true;
          },
        },
      );
    const blob = new Blob(['png']);
    vi.stubGlobal(
      'OffscreenCanvas',
      class {
        constructor(
          readonly width: number,
          readonly height: number,
        ) {
          calls.push(`canvas(${width},${height})`);
        }
        getContext() {
          return recorder();
        }
        async convertToBlob(options: { type: string }) {
          calls.push(`convertToBlob(${options.type})`);
          return blob;
        }
      },
    );
    expect(await browser.renderScenePngBrowser(scene)).toBe(blob);
    // Expected: the same commands drawScene issues on a recording context of its own.
    const expected: string[] = ['canvas(48,48)'];
    const direct = calls.length;
    browser.drawScene(recorder() as unknown as browser.DrawContext, scene);
    expected.push(...calls.splice(direct), 'convertToBlob(image/png)');
    expect(calls).toEqual(expected);
    // Only whole-pixel rectangles: the background, then one per row span of each object.
    const spans = scene.objects.reduce((n, o) => n + browser.shapeSpans(o, 48, 48).length, 0);
    const rects = calls.filter((c) => c.startsWith('fillRect('));
    expect(rects).toHaveLength(1 + spans);
    for (const r of rects) expect(r).toMatch(/^fillRect\((\d+),(\d+),(\d+),(\d+)\)$/);
    expect(calls.some((c) => /^(arc|lineTo|fill)\(/.test(c))).toBe(false);
  });
});
