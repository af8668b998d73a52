import { PolymodalError } from './polymodal-error.js';

/** A tensor was used after `dispose()` (or after the scope that owned it ended). */
export class DisposedError extends PolymodalError {
  override readonly name = 'DisposedError';
}
