import { ArgumentError } from '@polymodal/tensor';

/**
 * Checks on encoded image bytes that run before any decoder allocates pixels: which format the
 * bytes claim to be, their declared size against a pixel limit (decompression bombs), and for the
 * pure-JS PNG path that the compressed data holds exactly the pixels the header declares (pngjs
 * would otherwise fill a short image from memory it never wrote).
 *
 * `sniffImageFormat` and `checkEncodedImage` are self-contained (no imports, no outside
 * references): `ImageDecodePool` embeds their source text in its workers, so a worker and the main
 * thread run the same checks. Keep them that way.
 */

/** The image formats `decodeImage` reads (sharp decodes them all; the JS fallback PNG and JPEG). */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif';

/** Formats the pure-JS fallback decodes (pngjs, jpeg-js); the others need sharp. */
export const JS_IMAGE_FORMATS: readonly ImageFormat[] = ['png', 'jpeg'];

/**
 * sharp's default `limitInputPixels` (0x3FFF × 0x3FFF): the most pixels (width × height) an image
 * may declare before any decoder allocates memory for it.
 */
export const DEFAULT_LIMIT_INPUT_PIXELS = 268402689;

/**
 * Which format a byte string claims to be, from its magic number: PNG, JPEG, WebP (`RIFF…WEBP`),
 * GIF (`GIF87a`/`GIF89a`), TIFF (`II*\0`, `MM\0*`, BigTIFF) or AVIF (an ISO-BMFF `ftyp` box with
 * an `avif`/`avis` brand); `null` for anything else.
 *
 * ```ts
 * sniffImageFormat(await readFile('cat.webp')); // 'webp'
 * ```
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  const n = bytes.length;
  const ascii = (at: number, text: string): boolean => {
    if (at + text.length > n) return false;
    for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
    return true;
  };
  if (n >= 8 && bytes[0] === 0x89 && ascii(1, 'PNG\r\n\x1a\n')) return 'png';
  if (n >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*') || ascii(0, 'II+\0') || ascii(0, 'MM\0+')) return 'tiff';
  if (ascii(4, 'ftyp') && n >= 16) {
    const size = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    const end = Math.min(n, Math.max(size, 16));
    // Major brand at 8, minor version at 12, compatible brands from 16.
    for (let at = 8; at + 4 <= end; at += at === 8 ? 8 : 4) {
      if (ascii(at, 'avif') || ascii(at, 'avis')) return 'avif';
    }
  }
  return null;
}

/**
 * Validates encoded bytes of `format` before decoding and returns the declared size (or `null`
 * when the format's header is not read here: sharp enforces the limit itself). Throws an `Error`
 * whose message says what is wrong; callers wrap it in `ImageDecodeError` naming the file.
 *
 * - every format read here: width × height must not exceed `limitPixels`;
 * - PNG: signature, chunk lengths within the file, IHDR first with a valid bit depth / colour type,
 *   a palette for palette images, and IEND;
 * - PNG with `inflate` given (the pure-JS path): the IDAT stream must inflate to exactly the bytes
 *   the header declares (a short stream is rejected, never padded with whatever memory held);
 *   inflation stops one byte past that, so a stream that would inflate to gigabytes costs nothing;
 * - JPEG: the first frame header (SOF) gives the size; when it cannot be found the decoder decides.
 *
 * ```ts
 * checkEncodedImage(bytes, 'png', DEFAULT_LIMIT_INPUT_PIXELS, (d, max) => inflateSync(d, { maxOutputLength: max }));
 * ```
 */
export function checkEncodedImage(
  bytes: Uint8Array,
  format: string,
  limitPixels: number,
  inflate: ((data: Uint8Array, maxOutputLength: number) => Uint8Array) | null,
): { width: number; height: number } | null {
  const n = bytes.length;
  const u16 = (at: number): number => (bytes[at]! << 8) | bytes[at + 1]!;
  const u32 = (at: number): number =>
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
  const fmt = (v: number): string => v.toLocaleString('en-US');
  const limit = (width: number, height: number): void => {
    if (width * height > limitPixels) {
      throw new Error(
        `${format}: ${width}×${height} = ${fmt(width * height)} pixels is over the limit of ${fmt(limitPixels)} (limitInputPixels)`,
      );
    }
  };

  if (format === 'jpeg') {
    // Walk the marker segments up to the first frame header; stop at the scan or anything odd.
    let at = 2;
    while (at + 4 <= n) {
      if (bytes[at] !== 0xff) return null;
      while (at < n && bytes[at] === 0xff) at++;
      const marker = bytes[at++]!;
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
      if (marker === 0xd9 || marker === 0xda || at + 2 > n) return null;
      const length = u16(at);
      const isFrame =
        marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isFrame) {
        if (at + 7 > n) return null;
        const height = u16(at + 3);
        const width = u16(at + 5);
        limit(width, height);
        return { width, height };
      }
      if (length < 2) return null;
      at += length;
    }
    return null;
  }

  if (format !== 'png') return null;
  const fail = (why: string): never => {
    throw new Error(`png: ${why}`);
  };
  if (n < 8) fail('shorter than its signature');
  let at = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = 0;
  let interlace = 0;
  let sawHeader = false;
  let sawPalette = false;
  let sawEnd = false;
  const data: Uint8Array[] = [];
  let dataBytes = 0;
  while (at < n) {
    if (at + 12 > n) fail(`truncated chunk at byte ${at}`);
    const length = u32(at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (length > 0x7fffffff || at + 12 + length > n)
      fail(
        `chunk '${type}' at byte ${at} declares ${fmt(length)} bytes, past the end of the ${fmt(n)}-byte file`,
      );
    const body = at + 8;
    if (!sawHeader && type !== 'IHDR') fail(`the first chunk is '${type}', not IHDR`);
    if (type === 'IHDR') {
      if (sawHeader) fail('two IHDR chunks');
      if (length !== 13) fail(`IHDR has ${length} bytes, not 13`);
      sawHeader = true;
      width = u32(body);
      height = u32(body + 4);
      depth = bytes[body + 8]!;
      colorType = bytes[body + 9]!;
      interlace = bytes[body + 12]!;
      if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff)
        fail(`invalid size ${width}×${height}`);
      const depths: Record<number, number[]> = {
        0: [1, 2, 4, 8, 16],
        2: [8, 16],
        3: [1, 2, 4, 8],
        4: [8, 16],
        6: [8, 16],
      };
      if (!depths[colorType]?.includes(depth))
        fail(`invalid bit depth ${depth} for colour type ${colorType}`);
      if (bytes[body + 10] !== 0 || bytes[body + 11] !== 0) fail('unknown compression or filter method');
      if (interlace > 1) fail(`unknown interlace method ${interlace}`);
      limit(width, height);
      if (!inflate) return { width, height };
    } else if (type === 'PLTE') {
      sawPalette = true;
    } else if (type === 'IDAT') {
      data.push(bytes.subarray(body, body + length));
      dataBytes += length;
    } else if (type === 'IEND') {
      sawEnd = true;
      at += 12 + length;
      break;
    }
    at += 12 + length;
  }
  if (!sawHeader) fail('no IHDR chunk');
  if (!sawEnd) fail('no IEND chunk (truncated file?)');
  if (data.length === 0) fail('no IDAT chunk');
  if (colorType === 3 && !sawPalette) fail('palette image without a PLTE chunk');
  if (!inflate) return { width, height };

  // Bytes of filtered scanlines the header declares: one filter byte per row, then the pixels.
  const bitsPerPixel = depth * ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType] ?? 1);
  const rows = (w: number, h: number): number =>
    w > 0 && h > 0 ? h * (1 + Math.ceil((w * bitsPerPixel) / 8)) : 0;
  let expected = 0;
  if (interlace === 0) expected = rows(width, height);
  else {
    // Adam7: [x start, y start, x step, y step] per pass.
    const passes = [
      [0, 0, 8, 8],
      [4, 0, 8, 8],
      [0, 4, 4, 8],
      [2, 0, 4, 4],
      [0, 2, 2, 4],
      [1, 0, 2, 2],
      [0, 1, 1, 2],
    ];
    for (const [x0, y0, dx, dy] of passes)
      expected += rows(Math.ceil((width - x0!) / dx!), Math.ceil((height - y0!) / dy!));
  }
  const joined = new Uint8Array(dataBytes);
  let offset = 0;
  for (const part of data) {
    joined.set(part, offset);
    offset += part.length;
  }
  let raw: Uint8Array;
  try {
    raw = inflate(joined, expected + 1);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/larger than|too large|maxOutputLength/i.test(message))
      return fail(`IDAT inflates to more than the ${fmt(expected)} bytes a ${width}×${height} image needs`);
    return fail(`IDAT does not inflate (${message})`);
  }
  if (raw.length !== expected) {
    fail(
      `IDAT inflates to ${fmt(raw.length)} bytes, but a ${width}×${height} image (bit depth ${depth}, colour type ${colorType}${interlace ? ', interlaced' : ''}) needs ${fmt(expected)}`,
    );
  }
  return { width, height };
}

/**
 * Checks a `limitInputPixels` option: a positive integer, or `false` / `0` for no limit
 * (`Infinity`). Default `DEFAULT_LIMIT_INPUT_PIXELS`.
 */
export function resolvePixelLimit(op: string, value: number | false | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT_INPUT_PIXELS;
  if (value === false || value === 0) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ArgumentError(op, `limitInputPixels must be a positive integer, 0 or false, got ${value}`);
  return value;
}
