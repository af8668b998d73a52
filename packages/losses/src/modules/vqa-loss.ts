import { Module } from '@polymodal/nn';
import type { Tensor } from '@polymodal/tensor';
import {
  type AnswerCrossEntropyLossOutput,
  type AnswerCrossEntropyOptions,
  answerCrossEntropyLoss,
  type VqaLossOutput,
  vqaLoss,
} from '../vqa.js';

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
 * Single-answer classification loss (softmax cross-entropy) as a module; see {@link answerCrossEntropyLoss}.
 *
 * ```ts
 * const { loss } = new AnswerCrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, labels); // [B, A], int32 [B]
 * ```
 */
export class AnswerCrossEntropyLoss extends Module {
  constructor(readonly options: AnswerCrossEntropyOptions = {}) {
    super();
  }
  forward(logits: Tensor, labels: Tensor): AnswerCrossEntropyLossOutput {
    return answerCrossEntropyLoss(logits, labels, this.options);
  }
}
