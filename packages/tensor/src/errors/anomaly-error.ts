import { PolymodalError } from './polymodal-error.js';

/** Raised in anomaly mode by the first kernel whose output holds NaN or ±Infinity. */
export class AnomalyError extends PolymodalError {
  override readonly name = 'AnomalyError';
}
