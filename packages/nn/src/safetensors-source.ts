import type { Tensor } from '@polymodal/tensor';
import { SafetensorsError } from './errors.js';
import type { LoadStateDictResult, Module } from './module.js';
import { deserializeSafetensors } from './safetensors.js';

/**
 * Where safetensors bytes come from in a browser (or any runtime without a file system): the bytes
 * themselves, a `Blob`/`File` (a file input, a drop), or a fetch `Response`. Node file paths are
 * `loadSafetensors` in `@polymodal/nn/node`.
 */
export type SafetensorsSource = ArrayBuffer | ArrayBufferView | Blob | Response;

async function bytesOf(source: SafetensorsSource, op: string): Promise<Uint8Array> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof Blob !== 'undefined' && source instanceof Blob)
    return new Uint8Array(await source.arrayBuffer());
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok)
      throw new SafetensorsError(op, `cannot read ${source.url || 'response'}: HTTP ${source.status}`);
    return new Uint8Array(await source.arrayBuffer());
  }
  throw new SafetensorsError(op, 'source must be an ArrayBuffer, a typed array, a Blob/File or a Response');
}

/**
 * Reads safetensors from bytes, a `Blob`/`File` or a fetch `Response` (the browser counterpart of
 * `loadSafetensors(path)` from `@polymodal/nn/node`); see `deserializeSafetensors` for the checks.
 *
 * ```ts
 * const tensors = await loadSafetensorsFrom(await fetch('/model.safetensors'));
 * const fromInput = await loadSafetensorsFrom(fileInput.files[0]);
 * ```
 */
export async function loadSafetensorsFrom(source: SafetensorsSource): Promise<Record<string, Tensor>> {
  return deserializeSafetensors(await bytesOf(source, 'loadSafetensorsFrom')).tensors;
}

/**
 * Fetches a safetensors file by URL and reads it (an HTTP error names the URL and status).
 *
 * ```ts
 * const tensors = await fetchSafetensors('https://example.com/vit.safetensors');
 * ```
 */
export async function fetchSafetensors(
  url: string | URL,
  init?: RequestInit,
): Promise<Record<string, Tensor>> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new SafetensorsError(
      'fetchSafetensors',
      `cannot fetch ${String(url)}: ${(e as Error).message ?? e}`,
    );
  }
  if (!response.ok)
    throw new SafetensorsError('fetchSafetensors', `cannot fetch ${String(url)}: HTTP ${response.status}`);
  return deserializeSafetensors(await bytesOf(response, 'fetchSafetensors')).tensors;
}

/**
 * Loads safetensors from bytes, a `Blob`/`File` or a `Response` into `module` with `loadStateDict`
 * (strict by default); the loaded tensors are freed once copied.
 *
 * ```ts
 * await loadModuleFrom(await fetch('/vit.safetensors'), vit);
 * ```
 */
export async function loadModuleFrom(
  source: SafetensorsSource,
  module: Module,
  options: { strict?: boolean } = {},
): Promise<LoadStateDictResult> {
  const tensors = await loadSafetensorsFrom(source);
  try {
    return module.loadStateDict(tensors, options);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
