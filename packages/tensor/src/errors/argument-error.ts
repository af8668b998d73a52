import { PolymodalError } from './polymodal-error.js';

/** An argument out of range or of the wrong kind (an axis, a probability, a count). */
export class ArgumentError extends PolymodalError {
  override readonly name = 'ArgumentError';
}
