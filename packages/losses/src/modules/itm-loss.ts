import { Module } from '@polymodal/nn';
import type { Tensor } from '@polymodal/tensor';
import { type ItmLossOutput, itmLoss } from '../itm.js';

/**
 * Image–text matching loss (ALBEF/BLIP) as a module; see {@link itmLoss}.
 *
 * ```ts
 * const { loss } = new ItmLoss().forward(logits, labels); // [M, 2], int32 [M]
 * ```
 */
export class ItmLoss extends Module {
  forward(logits: Tensor, labels: Tensor): ItmLossOutput {
    return itmLoss(logits, labels);
  }
}
