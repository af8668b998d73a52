import { imagesToTensor } from '@polymodal/data';
import { l2Normalize, type RetrievalMetrics, retrievalMetrics } from '@polymodal/losses';
import { cat, noGrad, scope } from '@polymodal/tensor';
import { padTokens, type RetrievalImage } from './data.js';
import type { DualEncoder } from './model.js';

/**
 * Embeds every validation image and caption, scores all image–caption pairs by cosine similarity
 * and computes Recall@1/5/10 both ways (an image's rank is its best-ranked caption's).
 */
export function evaluateRetrieval(
  model: DualEncoder,
  images: readonly RetrievalImage[],
  padId: number,
  batchSize = 128,
): RetrievalMetrics {
  const wasTraining = model.training;
  model.eval();
  const captions = images.flatMap((im) => im.captionIds);
  const captionToImage = images.flatMap((im, i) => im.captionIds.map(() => i));
  const similarity = noGrad(() =>
    scope(() => {
      const imageEmbeds: ReturnType<typeof model.image.forward>[] = [];
      for (let i = 0; i < images.length; i += batchSize) {
        imageEmbeds.push(
          model.image.forward(imagesToTensor(images.slice(i, i + batchSize).map((im) => im.image))),
        );
      }
      const textEmbeds: ReturnType<typeof model.text.forward>[] = [];
      for (let i = 0; i < captions.length; i += batchSize) {
        const { inputIds, textMask } = padTokens(captions.slice(i, i + batchSize), padId);
        textEmbeds.push(model.text.forward(inputIds, textMask));
      }
      const sim = l2Normalize(cat(imageEmbeds, 0)).matmul(l2Normalize(cat(textEmbeds, 0)).transpose(0, 1));
      return {
        data: sim.dataSync() as Float32Array,
        shape: [images.length, captions.length] as [number, number],
      };
    }),
  );
  model.train(wasTraining);
  return retrievalMetrics(similarity, captionToImage);
}
