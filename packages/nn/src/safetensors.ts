import { ArgumentError, type DType, Tensor, tensor } from '@polymodal/tensor';
import { SafetensorsError } from './errors.js';

/**
 * The safetensors format (Hugging Face): 8-byte little-endian header length N, N bytes of UTF-8
 * JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { k: v } }` padded
 * with spaces to a multiple of 8, then the raw little-endian tensor bytes.
 */

/** Dtypes we write, and those we also read (converted: F16/BF16/F64 → float32, I64/I16/I8/U8 → int32). */
const ITEM_SIZE: Record<string, number> = {
  F32: 4,
  I32: 4,
  BOOL: 1,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I16: 2,
  I8: 1,
  U8: 1,
};

const DTYPE_TAG: Record<DType, string> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

/** Largest header we accept (the reference implementation's limit), against hostile lengths. */
const MAX_HEADER_BYTES = 100_000_000;

const fail = (message: string): never => {
  throw new SafetensorsError('safetensors', message);
};

/**
 * Encodes tensors (and optional string metadata) as a safetensors file. Tensors are laid out by
 * alignment (4-byte dtypes first), then by name, so every F32/I32 block stays 4-byte aligned.
 *
 * ```ts
 * const bytes = serializeSafetensors({ w: randn([2, 3]) }, { format: 'pt' });
 * ```
 */
export function serializeSafetensors(
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new ArgumentError('serializeSafetensors', `'${name}' is not a Tensor`);
    if (name === '__metadata__')
      throw new ArgumentError('serializeSafetensors', `'__metadata__' is a reserved name`);
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new ArgumentError('serializeSafetensors', `metadata '${k}' must be a string, got ${typeof v}`);
      }
    }
  }
  entries.sort(([na, a], [nb, b]) => {
    const sa = ITEM_SIZE[DTYPE_TAG[a.dtype]]!;
    const sb = ITEM_SIZE[DTYPE_TAG[b.dtype]]!;
    return sa === sb ? (na < nb ? -1 : na > nb ? 1 : 0) : sb - sa;
  });
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length) parts.push(`"__metadata__":${stringifyOrdered(metadata)}`);
  let offset = 0;
  const blocks: Uint8Array[] = [];
  for (const [name, t] of entries) {
    const bytes = toBytes(t);
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${DTYPE_TAG[t.dtype]}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + bytes.length}]}`,
    );
    blocks.push(bytes);
    offset += bytes.length;
  }
  let header = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(header.length / 8) * 8;
  if (padded !== header.length) {
    const h = new Uint8Array(padded).fill(0x20);
    h.set(header);
    header = h;
  }
  const out = new Uint8Array(8 + header.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** JSON of a string map with keys in insertion order (JSON.stringify would hoist integer-like keys). */
function stringifyOrdered(map: Record<string, string>): string {
  return `{${Object.entries(map)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join(',')}}`;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function toBytes(t: Tensor): Uint8Array {
  const values = t.dataSync();
  if (t.dtype === 'bool') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (t.dtype === 'float32') view.setFloat32(i * 4, values[i]!, true);
    else view.setInt32(i * 4, values[i]!, true);
  }
  return out;
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Decodes a safetensors file. Malformed or hostile input (header length past the end, non-JSON
 * header, unknown dtype, offsets out of range, overlapping or leaving gaps, size not matching the
 * shape) throws a `SafetensorsError` naming the problem. F16/BF16/F64 are read as float32,
 * I64/I16/I8/U8 as int32 (I64 values must fit).
 *
 * ```ts
 * const { tensors, metadata } = deserializeSafetensors(bytes);
 * ```
 */
export function deserializeSafetensors(bytes: Uint8Array): {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
} {
  if (!(bytes instanceof Uint8Array)) fail('input must be a Uint8Array');
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(`header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);
  }
  const n = Number(headerLength);
  if (n > MAX_HEADER_BYTES) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) fail(`header length ${n} is too short for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail('header must be a JSON object');
  // JSON.parse keeps the last of duplicate keys silently; the format forbids them, and two readers
  // could then disagree about the same file.
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    fail(
      duplicate.within === null
        ? `header names tensor '${duplicate.key}' twice (each name must appear once)`
        : `header entry '${duplicate.within}' has the key '${duplicate.key}' twice`,
    );
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info))
        fail('__metadata__ must be an object');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' must be a string`);
        Object.defineProperty(metadata, k, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      continue;
    }
    entries.push(parseEntry(name, info, dataLength));
  }
  // Blocks must tile the data area exactly: no overlaps, no gaps, nothing trailing.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin < cursor)
      fail(`tensor '${e.name}' [${e.begin}, ${e.end}) overlaps the previous tensor (ends at ${cursor})`);
    if (e.begin > cursor) fail(`bytes [${cursor}, ${e.begin}) before tensor '${e.name}' belong to no tensor`);
    cursor = e.end;
  }
  if (cursor !== dataLength) fail(`data area is ${dataLength} bytes but tensors cover only ${cursor}`);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const e of entries) {
      const t = decode(e, bytes.subarray(dataStart + e.begin, dataStart + e.end));
      Object.defineProperty(tensors, e.name, {
        value: t,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

/**
 * The first key that appears twice in one object of a valid JSON text, with the top-level key it
 * sits under (`null` at the top level itself), or null when every object's keys are distinct.
 */
function findDuplicateKey(text: string): { key: string; within: string | null } | null {
  // One frame per open object (its keys so far) or array (null); `top` is the top-level key we are in.
  const frames: (Set<string> | null)[] = [];
  let top: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k]!)) k++;
      const keys = frames.at(-1);
      if (keys && text[k] === ':') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return { key, within: frames.length === 1 ? null : top };
        keys.add(key);
        if (frames.length === 1) top = key;
      }
      i = j;
    } else if (c === 0x7b /* { */) frames.push(new Set());
    else if (c === 0x5b /* [ */) frames.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) frames.pop();
  }
  return null;
}

function parseEntry(name: string, info: unknown, dataLength: number): Entry {
  if (info === null || typeof info !== 'object' || Array.isArray(info))
    fail(`tensor '${name}' must be an object`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(ITEM_SIZE, dtype)) {
    fail(
      `tensor '${name}' has unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(ITEM_SIZE).join(', ')})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`tensor '${name}' has data_offsets [${begin}, ${end}] with begin after end`);
  if (end > dataLength) {
    fail(`tensor '${name}' data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data area`);
  }
  let elements = (shape as number[]).includes(0) ? 0 : 1;
  for (const d of shape as number[]) {
    if (elements === 0) break;
    elements *= d;
    // Capped by the bytes actually present, so a huge shape cannot overflow or allocate.
    if (elements * ITEM_SIZE[dtype as string]! > dataLength) {
      fail(`tensor '${name}' shape [${shape}] needs more bytes than the file holds`);
    }
  }
  const expected = elements * ITEM_SIZE[dtype as string]!;
  if (end - begin !== expected) {
    fail(
      `tensor '${name}' of ${dtype} [${shape}] needs ${expected} bytes but data_offsets span ${end - begin}`,
    );
  }
  return { name, dtype: dtype as string, shape: shape as number[], begin, end };
}

function decode(e: Entry, raw: Uint8Array): Tensor {
  const count = raw.length / ITEM_SIZE[e.dtype]!;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = e.shape;
  switch (e.dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(raw);
      else for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return tensor(out, { shape });
    }
    case 'I32': {
      const out = new Int32Array(count);
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(raw);
      else for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return tensor(out, { shape });
    }
    case 'BOOL': {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) out[i] = raw[i] ? 1 : 0;
      return tensor(out, { shape, dtype: 'bool' });
    }
    case 'F16':
    case 'BF16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const h = view.getUint16(i * 2, true);
        out[i] = e.dtype === 'F16' ? halfToFloat(h) : bf16ToFloat(h);
      }
      return tensor(out, { shape });
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return tensor(out, { shape });
    }
    default: {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        let v: number;
        if (e.dtype === 'I64') {
          const big = view.getBigInt64(i * 8, true);
          if (big > 2147483647n || big < -2147483648n) {
            fail(`tensor '${e.name}' holds I64 value ${big} at index ${i}, outside the int32 range`);
          }
          v = Number(big);
        } else if (e.dtype === 'I16') v = view.getInt16(i * 2, true);
        else if (e.dtype === 'I8') v = view.getInt8(i);
        else v = view.getUint8(i);
        out[i] = v;
      }
      return tensor(out, { shape });
    }
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bf16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

/** IEEE half → float, including subnormals, infinities and NaN. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
