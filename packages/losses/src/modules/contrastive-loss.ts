import { Module } from '@polymodal/nn';
import { noGrad, type Tensor, tensor } from '@polymodal/tensor';
import { type ContrastiveLossOutput, contrastiveLoss, MAX_LOG_LOGIT_SCALE } from '../contrastive.js';

export interface ContrastiveLossModuleOptions {
  /** Initial log-space logit scale. Default ln(1/0.07) (CLIP). */
  initLogitScale?: number;
  /** Learn the scale (a parameter) or keep it fixed (a buffer). Default true. */
  learnLogitScale?: boolean;
  /** Label smoothing ε. Default 0. */
  labelSmoothing?: number;
}

/**
 * CLIP's contrastive loss (Radford et al. 2021) as a module holding the learnable log-space
 * temperature `logitScale` (a scalar parameter initialised to ln(1/0.07), as in CLIP/OpenCLIP).
 * See {@link contrastiveLoss} for the formula.
 *
 * ```ts
 * const itc = new ContrastiveLoss();
 * const { loss } = itc.forward(imageEmbeds, textEmbeds); // [N, D] × 2 → scalar
 * optimizer.step(); itc.clampLogitScale();                 // OpenCLIP clamps after each step
 * ```
 */
export class ContrastiveLoss extends Module {
  readonly logitScale: Tensor;
  labelSmoothing: number;

  constructor(options: ContrastiveLossModuleOptions = {}) {
    super();
    const init = tensor(options.initLogitScale ?? Math.log(1 / 0.07));
    this.logitScale =
      (options.learnLogitScale ?? true)
        ? this.registerParameter('logitScale', init)!
        : this.registerBuffer('logitScale', init)!;
    this.labelSmoothing = options.labelSmoothing ?? 0;
  }

  forward(
    imageEmbeds: Tensor,
    textEmbeds: Tensor,
    options: { duplicateMask?: Tensor | readonly (readonly boolean[])[] } = {},
  ): ContrastiveLossOutput {
    return contrastiveLoss(imageEmbeds, textEmbeds, {
      logitScale: this.logitScale,
      labelSmoothing: this.labelSmoothing,
      ...(options.duplicateMask ? { duplicateMask: options.duplicateMask } : {}),
    });
  }

  /** Clamps the stored log scale to [0, ln 100] in place (OpenCLIP does this after every optimizer step). */
  clampLogitScale(): void {
    noGrad(() => {
      const clamped = this.logitScale.clamp(0, MAX_LOG_LOGIT_SCALE);
      this.logitScale.assign(clamped);
      clamped.dispose();
    });
  }
}
