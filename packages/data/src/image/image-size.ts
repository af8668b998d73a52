import { ArgumentError } from '@polymodal/tensor';

/**
 * Throws an `ArgumentError` unless `width` and `height` are positive integers; the message names
 * both, as an image size is given (`createImage: size must be positive integers, got -1×2`).
 * `checkPositiveInt` from `@polymodal/tensor` is the check for one number.
 *
 * ```ts
 * checkImageSize('resize', 'target size', width, height);
 * // resize: target size must be positive integers, got 0×32
 * ```
 */
export function checkImageSize(op: string, what: string, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ArgumentError(op, `${what} must be positive integers, got ${width}×${height}`);
  }
}
