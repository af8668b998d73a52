import { PolymodalError } from './polymodal-error.js';

/** Shapes that cannot work together: `matmul: cannot multiply [2,3] by [4,5]: inner dimensions 3 and 4 differ`. */
export class ShapeError extends PolymodalError {
  override readonly name = 'ShapeError';
}
