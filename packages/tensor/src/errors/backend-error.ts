import { PolymodalError } from './polymodal-error.js';

/** A backend cannot do what was asked: unknown backend, missing kernel, sync read on an async device. */
export class BackendError extends PolymodalError {
  override readonly name = 'BackendError';
  constructor(
    readonly backend: string,
    op: string,
    message: string,
  ) {
    super(op, `[backend ${backend}] ${message}`);
  }
}
