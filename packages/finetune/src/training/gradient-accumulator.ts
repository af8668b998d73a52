import { ArgumentError, checkPositiveInt, scope, type Tensor } from '@polymodal/tensor';

/**
 * Gradient accumulation: runs `backward()` on `loss / steps` for each micro-batch and says when
 * `steps` micro-batches have been accumulated, i.e. when to call `optimizer.step()`. With a mean
 * loss per micro-batch of equal size, the accumulated gradient equals that of one big batch.
 *
 * ```ts
 * const acc = new GradientAccumulator(4);
 * for (const batch of batches) {
 *   if (acc.backward(computeLoss(model, batch))) { optimizer.step(); optimizer.zeroGrad(); }
 * }
 * ```
 */
export class GradientAccumulator {
  /** Micro-batches accumulated since the last optimizer step. */
  microStep = 0;

  constructor(readonly steps: number) {
    checkPositiveInt('GradientAccumulator', 'steps', steps);
  }

  /** Backpropagates `loss / steps`; returns true when the optimizer should step now. */
  backward(loss: Tensor): boolean {
    if (loss.size !== 1)
      throw new ArgumentError('GradientAccumulator', `loss must be a scalar, got shape [${loss.shape}]`);
    scope(() => {
      loss.div(this.steps).backward();
    });
    this.microStep++;
    if (this.microStep >= this.steps) {
      this.microStep = 0;
      return true;
    }
    return false;
  }

  /** Whether the next `backward` completes an accumulation window. */
  get willStep(): boolean {
    return this.microStep + 1 >= this.steps;
  }

  reset(): void {
    this.microStep = 0;
  }
}
