import { Module } from '@polymodal/nn';
import { type Tensor, tensor } from '@polymodal/tensor';
import { type SigLipLossOutput, sigLipLoss } from '../sigmoid.js';

export interface SigLipLossOptions {
  /** Initial log-space scale t'. Default ln 10 (SigLIP). */
  initLogitScale?: number;
  /** Initial bias b. Default −10 (SigLIP). */
  initLogitBias?: number;
  /** L2-normalise the embeddings first. Default true. */
  normalize?: boolean;
}

/**
 * SigLIP's pairwise sigmoid loss (Zhai et al. 2023) as a module with a learnable log-space scale
 * `logitScale` (init ln 10) and bias `logitBias` (init −10), the paper's initialisation.
 * See {@link sigLipLoss} for the formula.
 *
 * ```ts
 * const siglip = new SigLipLoss();
 * const { loss } = siglip.forward(imageEmbeds, textEmbeds); // [N, D] × 2 → scalar
 * ```
 */
export class SigLipLoss extends Module {
  readonly logitScale: Tensor;
  readonly logitBias: Tensor;
  normalize: boolean;

  constructor(options: SigLipLossOptions = {}) {
    super();
    this.logitScale = this.registerParameter('logitScale', tensor(options.initLogitScale ?? Math.log(10)))!;
    this.logitBias = this.registerParameter('logitBias', tensor(options.initLogitBias ?? -10))!;
    this.normalize = options.normalize ?? true;
  }

  forward(imageEmbeds: Tensor, textEmbeds: Tensor): SigLipLossOutput {
    return sigLipLoss(imageEmbeds, textEmbeds, {
      logitScale: this.logitScale,
      logitBias: this.logitBias,
      normalize: this.normalize,
    });
  }
}
