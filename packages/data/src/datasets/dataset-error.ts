import { PolymodalError } from '@polymodal/tensor';

/** A dataset file that does not match its published schema, or refers to something missing. */
export class DatasetError extends PolymodalError {
  override readonly name = 'DatasetError';
  constructor(
    reader: string,
    readonly file: string,
    message: string,
  ) {
    super(reader, `${file}: ${message}`);
  }
}
