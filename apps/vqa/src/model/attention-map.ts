// Browser-safe: the web page draws the same map.
import { CrossAttentionLayer, type MultiHeadAttention } from '@polymodal/attention';
import { type ImageProcessor, type RgbImage, resize } from '@polymodal/data/browser';
import type { IntermediateFusion } from '@polymodal/fusion';
import { noGrad, scope, type Tensor, tensor } from '@polymodal/tensor';
import type { VqaModel } from './vqa-model.js';

/** Fusion strategies whose text stream attends over the image cells (text → image attention). */
export const ATTENTION_MAP_FUSIONS: readonly string[] = ['intermediate'];

/** The question's attention over the image: one weight per cell of the stem's grid (sums to 1). */
export interface AttentionMap {
  /** `[h·w]`, row-major, averaged over heads, cross-attention layers and the question's tokens. */
  weights: Float32Array;
  grid: [number, number];
}

/**
 * Where the question looked: the weights of the text stream's cross-attention over the image cells
 * in a two-stream (`intermediate`, ViLBERT-style) fusion, read from the layers' own
 * `MultiHeadAttention` during one forward pass (the output is unchanged). `null` for a fusion
 * without text → image attention (see `ATTENTION_MAP_FUSIONS`).
 *
 * ```ts
 * const map = attentionMap(bundle.model, bundle.processor, image, ids); // { weights: [h·w], grid: [h, w] }
 * ```
 */
export function attentionMap(
  model: VqaModel,
  processor: ImageProcessor,
  image: RgbImage,
  ids: readonly number[],
): AttentionMap | null {
  if (!ATTENTION_MAP_FUSIONS.includes(model.config.fusion.type)) return null;
  const fusion = model.fusion as IntermediateFusion;
  const attentions: MultiHeadAttention[] = [];
  for (const layer of fusion.streams.get('text'))
    if (layer instanceof CrossAttentionLayer) attentions.push(layer.multiheadAttn);
  const [h, w] = model.image.grid;
  const sum = new Float32Array(h * w);
  // A forward hook on each cross-attention: the same call, asking for the head-averaged weights.
  const originals = attentions.map((a) => a.forward);
  attentions.forEach((a, i) => {
    const original = originals[i]!;
    a.forward = (q: Tensor, k: Tensor, v: Tensor, options = {}) => {
      const out = original.call(a, q, k, v, { ...options, needWeights: true, averageAttnWeights: true });
      const weights = out.weights!.dataSync(); // [1, Lt, h·w]
      const tokens = weights.length / sum.length;
      for (let t = 0; t < tokens; t++)
        for (let c = 0; c < sum.length; c++)
          sum[c]! += weights[t * sum.length + c]! / (tokens * attentions.length);
      return out;
    };
  });
  try {
    noGrad(() =>
      scope(() => {
        const chw = processor.preprocessToChw(image);
        const pixels = tensor(chw.chw, { shape: [1, 3, chw.height, chw.width] });
        const inputIds = tensor(Int32Array.from(ids), { shape: [1, ids.length] });
        const mask = tensor(new Uint8Array(ids.length).fill(1), { shape: [1, ids.length], dtype: 'bool' });
        model.forward(pixels, inputIds, mask);
      }),
    );
  } finally {
    attentions.forEach((a, i) => {
      a.forward = originals[i]!;
    });
  }
  return { weights: sum, grid: [h, w] };
}

/**
 * The map over the picture at its own size: the cells' weights (scaled from 0 at the least to 1 at the most)
 * resized bilinearly, drawn as a red heat over a darkened copy of the image.
 */
export function overlayAttention(image: RgbImage, map: AttentionMap): RgbImage {
  const [h, w] = map.grid;
  // Min–max scaled: a nearly uniform map still shows where it leans.
  const low = map.weights.reduce((a, b) => Math.min(a, b));
  const range = map.weights.reduce((a, b) => Math.max(a, b)) - low || 1;
  const cells = { width: w, height: h, data: new Float32Array(w * h * 3) };
  map.weights.forEach((v, i) => cells.data.fill((255 * (v - low)) / range, i * 3, i * 3 + 3));
  const heat = resize(cells, image.width, image.height, 'bilinear');
  const out = new Float32Array(image.data.length);
  for (let p = 0; p < image.width * image.height; p++) {
    const a = heat.data[p * 3]! / 255;
    const [r, g, b] = [image.data[p * 3]!, image.data[p * 3 + 1]!, image.data[p * 3 + 2]!];
    out[p * 3] = 0.4 * r + 0.6 * 255 * a;
    out[p * 3 + 1] = 0.4 * g + 0.6 * 64 * a;
    out[p * 3 + 2] = 0.4 * b;
  }
  return { width: image.width, height: image.height, data: out };
}
