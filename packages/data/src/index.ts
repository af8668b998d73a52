/**
 * @polymodal/data: tokenizers, image decoding and transforms, standard dataset formats, loaders
 * and a synthetic scene generator for multimodal (image + text) training in Node.
 */

export * from './datasets/answer-vocab.js';
export * from './datasets/clevr.js';
export * from './datasets/coco-captions.js';
export * from './datasets/dataset-error.js';
export * from './datasets/image-path.js';
export * from './datasets/jsonl.js';
export * from './datasets/karpathy.js';
export * from './datasets/skip-report.js';
export * from './datasets/vqa-v2.js';
export * from './generator/draw-scene.js';
export * from './generator/generate-dataset.js';
export * from './generator/generate-retrieval-dataset.js';
export * from './generator/relation-captions.js';
export * from './generator/render-scene.js';
export * from './generator/retrieval-groups.js';
export * from './generator/scene.js';
export * from './image/augment.js';
export * from './image/decode-image.js';
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
export * from './loading/image-decode-pool.js';
export * from './loading/vqa-dataset.js';
export * from './loading/web-dataset.js';
export * from './text/basic-tokenizer.js';
export * from './text/encoding-to-tensors.js';
export * from './text/vocab-builder.js';
export * from './text/wordpiece-tokenizer.js';
