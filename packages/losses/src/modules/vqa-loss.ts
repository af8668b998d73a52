import { Module } from '@polymodal/nn';
import type { Tensor } from '@polymodal/tensor';
import { type AnswerCrossEntropyOptions, answerCrossEntropy, type VqaLossOutput, vqaLoss } from '../vqa.js';

/**
 * Soft-target VQA loss (BCE-with-logits × numAnswers, ViLT/MMF) as a module; see {@link vqaLoss}.
 *
 * ```ts
 * const { loss } = new VqaLoss().forward(logits, softTargets); // [B, A] × 2
 * ```
 */
export class VqaLoss extends Module {
  forward(logits: Tensor, softTargets: Tensor): VqaLossOutput {
    return vqaLoss(logits, softTargets);
  }
}

/**
 * Single-answer classification loss (softmax cross-entropy) as a module; see {@link answerCrossEntropy}.
 *
 * ```ts
 * const { loss } = new AnswerCrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, labels); // [B, A], int32 [B]
 * ```
 */
export class AnswerCrossEntropyLoss extends Module {
  constructor(readonly options: AnswerCrossEntropyOptions = {}) {
    super();
  }
  forward(logits: Tensor, labels: Tensor): { loss: Tensor; logits: Tensor; labels: Tensor } {
    return answerCrossEntropy(logits, labels, this.options);
  }
}
