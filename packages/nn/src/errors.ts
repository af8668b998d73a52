import { PolymodalError } from '@polymodal/tensor';

/**
 * A state dict that does not fit a module: lists every missing, unexpected and mis-shaped key in
 * one message, so a bad checkpoint is diagnosed in one go.
 *
 * ```ts
 * try { model.loadStateDict(sd); } catch (e) { if (e instanceof StateDictError) console.log(e.missingKeys); }
 * ```
 */
export class StateDictError extends PolymodalError {
  override readonly name = 'StateDictError';
  constructor(
    op: string,
    readonly missingKeys: string[],
    readonly unexpectedKeys: string[],
    readonly mismatchedKeys: { key: string; expected: number[]; got: number[] }[],
  ) {
    const parts: string[] = [];
    if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(', ')}`);
    if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (mismatchedKeys.length) {
      parts.push(
        `mis-shaped keys: ${mismatchedKeys
          .map((m) => `${m.key} (expected [${m.expected.join(',')}], got [${m.got.join(',')}])`)
          .join(', ')}`,
      );
    }
    super(op, parts.join('; '));
  }
}

/** A safetensors file that cannot be read: names the problem (bad header, offsets, dtype, …). */
export class SafetensorsError extends PolymodalError {
  override readonly name = 'SafetensorsError';
}
