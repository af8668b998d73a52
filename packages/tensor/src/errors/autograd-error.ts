import { PolymodalError } from './polymodal-error.js';

/**
 * `backward()` cannot compute a correct gradient: a tensor an op saved for its gradient was changed
 * in place (`assign`) after the op used it, as PyTorch's "modified by an inplace operation".
 */
export class AutogradError extends PolymodalError {
  override readonly name = 'AutogradError';
}
