import { PolymodalError } from '@polymodal/tensor';

/** A file that is not a decodable PNG/JPEG (corrupt, truncated, another format). Names the file. */
export class ImageDecodeError extends PolymodalError {
  override readonly name = 'ImageDecodeError';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super('decodeImage', `cannot decode ${file}: ${reason}`);
  }
}
