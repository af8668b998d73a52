import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { COLLECTIONS, type Collection, type ItemPayload } from './vector-index.js';

const MAGIC = 'PMVLOG1\n';
const HEADER = 12; // magic + u32 dimension

let crcTable: Uint32Array | null = null;
/** CRC-32 (IEEE 802.3, as zlib), over `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One collection's records in memory: keys, payloads and a packed `[n, dimension]` matrix. */
export class CollectionVectors {
  keys: string[] = [];
  payloads: ItemPayload[] = [];
  readonly positions = new Map<string, number>();
  private data: Float32Array;

  constructor(readonly dimension: number) {
    this.data = new Float32Array(dimension * 64);
  }

  get size(): number {
    return this.keys.length;
  }

  /** Row `i` (a view, not a copy). */
  row(i: number): Float32Array {
    return this.data.subarray(i * this.dimension, (i + 1) * this.dimension);
  }

  /** All rows as one `[size · dimension]` view. */
  matrix(): Float32Array {
    return this.data.subarray(0, this.size * this.dimension);
  }

  push(key: string, payload: ItemPayload, vector: Float32Array): void {
    const need = (this.size + 1) * this.dimension;
    if (need > this.data.length) {
      const grown = new Float32Array(Math.max(need, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(vector, this.size * this.dimension);
    this.positions.set(key, this.size);
    this.keys.push(key);
    this.payloads.push(payload);
  }
}

/**
 * An append-only file of embeddings, the embedded index's source of truth. Each record is framed
 * as `u32 length, u32 CRC-32, body` (body: collection, key and payload as JSON, `dimension`
 * float32s), appended and fsync'ed per batch. Opening it reads every intact record and cuts off a
 * torn tail (what a `kill -9` in the middle of a write leaves), so appends resume cleanly.
 *
 * ```ts
 * const log = VectorLog.open('runs/index/vectors.log', 64);
 * log.append([{ collection: 'images', key: 'a.png', payload: { path: 'a.png' }, vector }]);
 * log.collections.images.size; // 1
 * ```
 */
export class VectorLog {
  readonly collections: Record<Collection, CollectionVectors>;
  /** Bytes of a torn tail dropped when the file was opened (0 for a clean file). */
  droppedBytes = 0;
  private constructor(
    readonly path: string,
    readonly dimension: number,
    private fd: number,
  ) {
    this.collections = { images: new CollectionVectors(dimension), texts: new CollectionVectors(dimension) };
  }

  static open(path: string, dimension: number): VectorLog {
    const fresh = !existsSync(path);
    const fd = openSync(path, fresh ? 'w+' : 'r+');
    const log = new VectorLog(path, dimension, fd);
    if (fresh) {
      const header = Buffer.alloc(HEADER);
      header.write(MAGIC, 0, 'latin1');
      header.writeUInt32LE(dimension, 8);
      writeSync(fd, header, 0, HEADER, 0);
      fsyncSync(fd);
      return log;
    }
    log.load();
    return log;
  }

  private load(): void {
    const size = fstatSync(this.fd).size;
    const bytes = Buffer.alloc(size);
    readSync(this.fd, bytes, 0, size, 0);
    if (size < HEADER || bytes.toString('latin1', 0, 8) !== MAGIC) {
      closeSync(this.fd);
      throw new Error(`${this.path} is not a vector log (bad header)`);
    }
    const dim = bytes.readUInt32LE(8);
    if (dim !== this.dimension) {
      closeSync(this.fd);
      throw new Error(`${this.path} holds ${dim}-dimensional vectors, expected ${this.dimension}`);
    }
    let at = HEADER;
    while (at + 8 <= size) {
      const length = bytes.readUInt32LE(at);
      const crc = bytes.readUInt32LE(at + 4);
      if (at + 8 + length > size) break;
      const body = bytes.subarray(at + 8, at + 8 + length);
      if (crc32(body) !== crc) break;
      this.decode(body);
      at += 8 + length;
    }
    if (at < size) {
      // A torn tail: cut it so the next append starts on a record boundary.
      this.droppedBytes = size - at;
      ftruncateSync(this.fd, at);
      fsyncSync(this.fd);
    }
  }

  private decode(body: Buffer): void {
    const collection = COLLECTIONS[body.readUInt8(0)]!;
    const jsonLength = body.readUInt32LE(1);
    const { k, p } = JSON.parse(body.toString('utf8', 5, 5 + jsonLength)) as { k: string; p: ItemPayload };
    const floats = body.subarray(5 + jsonLength);
    const vector = new Float32Array(this.dimension);
    for (let i = 0; i < this.dimension; i++) vector[i] = floats.readFloatLE(4 * i);
    const c = this.collections[collection];
    if (!c.positions.has(k)) c.push(k, p, vector);
  }

  /** Appends the items whose keys are new (in one write + fsync); returns how many were new. */
  append(
    items: readonly { collection: Collection; key: string; payload: ItemPayload; vector: Float32Array }[],
  ): number {
    const parts: Buffer[] = [];
    const seen = new Set<string>();
    const fresh = items.filter((it) => {
      const id = `${it.collection}\u0000${it.key}`;
      if (this.collections[it.collection].positions.has(it.key) || seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    for (const it of fresh) {
      if (it.vector.length !== this.dimension) {
        throw new Error(
          `vector for '${it.key}' has ${it.vector.length} values, the index holds ${this.dimension}`,
        );
      }
      const json = Buffer.from(JSON.stringify({ k: it.key, p: it.payload }), 'utf8');
      const body = Buffer.alloc(5 + json.length + 4 * this.dimension);
      body.writeUInt8(COLLECTIONS.indexOf(it.collection), 0);
      body.writeUInt32LE(json.length, 1);
      json.copy(body, 5);
      for (let i = 0; i < this.dimension; i++) body.writeFloatLE(it.vector[i]!, 5 + json.length + 4 * i);
      const frame = Buffer.alloc(8);
      frame.writeUInt32LE(body.length, 0);
      frame.writeUInt32LE(crc32(body), 4);
      parts.push(frame, body);
    }
    if (parts.length === 0) return 0;
    const all = Buffer.concat(parts);
    const end = fstatSync(this.fd).size;
    writeSync(this.fd, all, 0, all.length, end);
    fsyncSync(this.fd);
    for (const it of fresh) this.collections[it.collection].push(it.key, it.payload, it.vector);
    return fresh.length;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
