import { PolymodalError } from './polymodal-error.js';

/** A tensor of the wrong dtype for an argument: `gather: index must be int32, got float32`. */
export class DTypeError extends PolymodalError {
  override readonly name = 'DTypeError';
}
