/**
 * @polymodal/data/browser: the parts of @polymodal/data that run in a browser or web worker —
 * the WordPiece tokenizer, image transforms and preprocessing, the Sort-of-CLEVR scene sampler
 * with its questions and captions, the `DataLoader` and `collate`, plus the browser image decoder
 * (`createImageBitmap` + `OffscreenCanvas`) and the `OffscreenCanvas` scene renderer. Nothing
 * reachable from here imports a `node:*` module or a native package (a test bundles it for
 * `platform: 'browser'` to check).
 *
 * ```ts
 * import { decodeImageBrowser, ImageProcessor, WordPieceTokenizer } from '@polymodal/data/browser';
 * const img = await decodeImageBrowser(await (await fetch('cat.jpg')).blob(), 'cat.jpg');
 * ```
 */

export * from './datasets/answer-vocab.js';
export * from './datasets/dataset-error.js';
export * from './datasets/skip-report.js';
export * from './generator/draw-scene.js';
export * from './generator/render-scene-browser.js';
export * from './generator/scene.js';
export * from './image/augment.js';
export * from './image/decode-image-browser.js';
export * from './image/hf-image-processors.js';
export * from './image/image-bytes.js';
export * from './image/image-decode-error.js';
export * from './image/image-processor.js';
export * from './image/patchify.js';
export * from './image/resize.js';
export * from './image/rgb-image.js';
export * from './image/transforms.js';
export * from './loading/batch-stream.js';
export * from './loading/collate.js';
export * from './loading/data-loader.js';
export * from './text/basic-tokenizer.js';
export * from './text/encoding-to-tensors.js';
export * from './text/vocab-builder.js';
export * from './text/wordpiece-tokenizer.js';
