import { Module } from '@polymodal/nn';
import type { Tensor } from '@polymodal/tensor';
import { type MlmLossOptions, type MlmLossOutput, mlmLoss } from '../mlm.js';

/**
 * Masked-language-model loss (BERT) as a module; see {@link mlmLoss}.
 *
 * ```ts
 * const { loss } = new MlmLoss().forward(logits, labels); // [B, L, V], int32 [B, L]
 * ```
 */
export class MlmLoss extends Module {
  constructor(readonly options: MlmLossOptions = {}) {
    super();
  }
  forward(logits: Tensor, labels: Tensor): MlmLossOutput {
    return mlmLoss(logits, labels, this.options);
  }
}
