/**
 * Base class of every error Polymodal throws on purpose. `op` names the operation (or module) that
 * refused its input, so a stack-less message still says where to look.
 */
export class PolymodalError extends Error {
  override readonly name: string = 'PolymodalError';
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
  }
}
