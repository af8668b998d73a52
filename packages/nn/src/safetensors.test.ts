import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolymodalError, randn, type Tensor, tensor } from '@polymodal/tensor';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsError } from './errors.js';
import { MLP } from './mlp.js';
import { loadModule, loadSafetensors, saveModule, saveSafetensors } from './node.js';
import { deserializeSafetensors, serializeSafetensors } from './safetensors.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'polymodal-st-'));
  dirs.push(d);
  return d;
}

/** Builds a safetensors file from a raw header object and data bytes (no validation). */
function craft(header: unknown, data: number[] | Uint8Array, headerText?: string): Uint8Array {
  const text = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

const f32Bytes = (values: number[]): number[] => Array.from(new Uint8Array(new Float32Array(values).buffer));

describe('serializeSafetensors', () => {
  it('writes the exact byte layout (hand-built expectation)', () => {
    const bytes = serializeSafetensors({ b: tensor([true, false]), a: tensor([1.5, -2]) }, { format: 'pt' });
    // 4-byte dtypes first, then by name; header padded with spaces to a multiple of 8.
    const json =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BOOL","shape":[2],"data_offsets":[8,10]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    const expected = craft(null, [...f32Bytes([1.5, -2]), 1, 0], padded);
    expect(Array.from(bytes)).toEqual(Array.from(expected));
  });

  it('round-trips F32, I32 and BOOL with metadata and awkward names', () => {
    const tensors: Record<string, Tensor> = {
      'layers.0.weight': randn([3, 4], { seed: 1 }),
      '0': tensor([7, -8, 2147483647], { dtype: 'int32' }),
      'é/ü': tensor([[true], [false]]),
      scalar: tensor(3.25),
      empty: tensor(new Float32Array(0), { shape: [0, 5] }),
      // Quotes, backslashes, braces and colons inside names: not keys to the duplicate check.
      'a":{"b': tensor([1]),
      'a\\":[': tensor([2]),
    };
    const { tensors: back, metadata } = deserializeSafetensors(
      serializeSafetensors(tensors, { step: '12', '"x":': '{"y":"z"}' }),
    );
    expect(metadata).toEqual({ step: '12', '"x":': '{"y":"z"}' });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [k, t] of Object.entries(tensors)) {
      expect(back[k]!.shape).toEqual(t.shape);
      expect(back[k]!.dtype).toBe(t.dtype);
      expect(Array.from(back[k]!.dataSync())).toEqual(Array.from(t.dataSync()));
    }
  });

  it('refuses non-tensors and the reserved name', () => {
    expect(() => serializeSafetensors({ __metadata__: tensor([1]) })).toThrow(PolymodalError);
    expect(() => serializeSafetensors({ a: 3 as unknown as Tensor })).toThrow(/'a' is not a Tensor/);
  });
});

describe('deserializeSafetensors', () => {
  it('reads F16, BF16 and I64 (hand-encoded) as float32 / int32', () => {
    // F16: 0x3C00 = 1, 0xC000 = −2, 0x0001 = 2^-24 (subnormal); BF16: 0x3FC0 = 1.5; I64: −5 and 2^31−1.
    const f16 = [0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00];
    const bf16 = [0xc0, 0x3f];
    const i64 = new Uint8Array(16);
    new DataView(i64.buffer).setBigInt64(0, -5n, true);
    new DataView(i64.buffer).setBigInt64(8, 2147483647n, true);
    const file = craft(
      {
        h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
        bf: { dtype: 'BF16', shape: [1], data_offsets: [6, 8] },
        l: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
      },
      [...f16, ...bf16, ...i64],
    );
    const { tensors } = deserializeSafetensors(file);
    expect(Array.from(tensors['h']!.dataSync())).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(tensors['bf']!.dataSync())).toEqual([1.5]);
    expect(tensors['l']!.dtype).toBe('int32');
    expect(Array.from(tensors['l']!.dataSync())).toEqual([-5, 2147483647]);
    new DataView(i64.buffer).setBigInt64(8, 2147483648n, true);
    expect(() =>
      deserializeSafetensors(craft({ l: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, i64)),
    ).toThrow(/outside the int32 range/);
  });

  const t = (dtype: string, shape: number[], offsets: number[]) => ({ dtype, shape, data_offsets: offsets });
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /shorter than the 8-byte header length/],
    [
      'header past the end',
      (() => {
        const b = craft({}, []);
        new DataView(b.buffer).setBigUint64(0, 1000n, true);
        return b;
      })(),
      /header length 1000 runs past the end/,
    ],
    [
      'huge header length',
      (() => {
        const b = craft({}, []);
        new DataView(b.buffer).setBigUint64(0, 2n ** 63n, true);
        return b;
      })(),
      /runs past the end/,
    ],
    ['non-JSON header', craft(null, [], '{"a": nope}'), /header is not valid JSON/],
    ['non-object header', craft([1, 2], []), /header must be a JSON object/],
    [
      'bad UTF-8',
      craft(null, [], '{"\udc00":1}'.replace('\udc00', 'x')).map((v, i) => (i === 10 ? 0xff : v)),
      /UTF-8/,
    ],
    ['unknown dtype', craft({ a: t('Q8', [1], [0, 1]) }, [0]), /unknown dtype "Q8"/],
    [
      'offsets out of range',
      craft({ a: t('F32', [1], [0, 8]) }, f32Bytes([1])),
      /run past the 4-byte data area/,
    ],
    ['begin after end', craft({ a: t('F32', [0], [4, 0]) }, f32Bytes([1])), /begin after end/],
    [
      'overlap',
      craft({ a: t('F32', [2], [0, 8]), b: t('F32', [1], [4, 8]) }, f32Bytes([1, 2])),
      /overlaps the previous tensor/,
    ],
    [
      'gap',
      craft({ a: t('F32', [1], [4, 8]) }, f32Bytes([1, 2])),
      /bytes \[0, 4\) before tensor 'a' belong to no tensor/,
    ],
    ['trailing bytes', craft({ a: t('F32', [1], [0, 4]) }, f32Bytes([1, 2])), /cover only 4/],
    [
      'size mismatch',
      craft({ a: t('F32', [3], [0, 8]), b: t('F32', [2], [8, 16]) }, f32Bytes([1, 2, 3, 4])),
      /needs 12 bytes but data_offsets span 8/,
    ],
    ['bad shape', craft({ a: t('F32', [-1], [0, 4]) }, f32Bytes([1])), /invalid shape/],
    [
      'huge shape',
      craft({ a: t('F32', [1e15, 1e15], [0, 4]) }, f32Bytes([1])),
      /needs more bytes than the file holds/,
    ],
    [
      'bad offsets',
      craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, f32Bytes([1])),
      /invalid data_offsets/,
    ],
    ['bad metadata', craft({ __metadata__: { a: 1 } }, []), /__metadata__ 'a' must be a string/],
    [
      // Issue 16: JSON.parse kept the last one, so this loaded as F32 [1]; readers must agree.
      'a tensor name given twice',
      craft(
        null,
        f32Bytes([1]),
        '{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
      ),
      /header names tensor 'w' twice/,
    ],
    [
      'a key given twice inside an entry',
      craft(null, f32Bytes([1]), '{"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,4]}}'),
      /header entry 'w' has the key 'dtype' twice/,
    ],
    [
      'a metadata key given twice',
      craft(null, [], '{"__metadata__":{"a":"1","a":"2"}}'),
      /header entry '__metadata__' has the key 'a' twice/,
    ],
    [
      'the same name, escaped differently',
      craft(
        null,
        f32Bytes([1, 2]),
        '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      ),
      /header names tensor 'w' twice/,
    ],
  ];
  it.each(cases)('rejects %s with a SafetensorsError naming the problem', (_name, bytes, message) => {
    let err: unknown;
    try {
      deserializeSafetensors(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as Error).message).toMatch(message);
  });

  it('does not let a "__proto__" tensor name touch the prototype', () => {
    const { tensors } = deserializeSafetensors(
      craft(null, f32Bytes([3]), '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'),
    );
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
    const own = Object.getOwnPropertyDescriptor(tensors, '__proto__')?.value as Tensor;
    expect(Array.from(own.dataSync())).toEqual([3]);
  });

  it('fuzz: any bytes either parse or throw a PolymodalError, quickly (10,000+ cases)', () => {
    const seeds = [
      serializeSafetensors(
        { a: randn([2, 3], { seed: 1 }), b: tensor([1, 2], { dtype: 'int32' }) },
        { k: 'v' },
      ),
      serializeSafetensors({ m: tensor([true, false, true]), x: tensor(2) }),
      serializeSafetensors({}),
    ];
    let parsed = 0;
    const check = (bytes: Uint8Array): void => {
      try {
        const { tensors } = deserializeSafetensors(bytes);
        parsed++;
        for (const v of Object.values(tensors)) v.dispose();
      } catch (e) {
        if (!(e instanceof PolymodalError)) throw e;
      }
    };
    const mutation = fc.record({
      file: fc.constantFrom(...seeds),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      append: fc.uint8Array({ maxLength: 8 }),
    });
    // CPU time, not wall time: the bound is about the parser, not about what else the machine runs.
    const started = process.cpuUsage();
    fc.assert(
      fc.property(mutation, ({ file, edits, cut, append }) => {
        const b = new Uint8Array([
          ...file.subarray(0, cut === undefined ? file.length : cut % (file.length + 1)),
          ...append,
        ]);
        for (const [at, v] of edits) if (b.length) b[at % b.length] = v;
        check(b);
      }),
      { numRuns: 6000, seed: 42 },
    );
    // Header-aware mutations: well-formed framing around random JSON-ish headers.
    const headerish = fc.oneof(
      fc.json(),
      fc.record({
        a: fc.record({
          dtype: fc.constantFrom('F32', 'I32', 'BOOL', 'F16', 'BF16', 'I64', 'X'),
          shape: fc.array(fc.integer({ min: -2, max: 6 }), { maxLength: 3 }),
          data_offsets: fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 3 }),
        }),
      }),
    );
    fc.assert(
      fc.property(headerish, fc.uint8Array({ maxLength: 40 }), (header, data) => {
        check(craft(null, data, typeof header === 'string' ? header : JSON.stringify(header)));
      }),
      { numRuns: 3000, seed: 7 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => check(bytes)),
      { numRuns: 2000, seed: 3 },
    );
    expect(parsed).toBeGreaterThan(0); // some mutants stay valid (e.g. edits inside tensor data)
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(20_000);
  });
});

describe('safetensors files', () => {
  it('saves atomically and loads back; a failed save leaves the old file and no temp file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'w.safetensors');
    await saveSafetensors(path, { w: tensor([1, 2]) });
    await saveSafetensors(path, { w: tensor([3, 4]) }, { v: '2' });
    expect(Array.from((await loadSafetensors(path))['w']!.dataSync())).toEqual([3, 4]);
    expect(await readdir(dir)).toEqual(['w.safetensors']);
    const before = await readFile(path);
    await expect(saveSafetensors(path, { w: 'oops' as unknown as Tensor })).rejects.toThrow(PolymodalError);
    // rename onto a non-empty directory fails: the temp file must be cleaned up.
    const blocked = join(dir, 'blocked');
    await mkdir(blocked);
    await writeFile(join(blocked, 'x'), 'x');
    await expect(saveSafetensors(blocked, { w: tensor([1]) })).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['blocked', 'w.safetensors']);
    expect(Buffer.compare(await readFile(path), before)).toBe(0);
  });

  it('a save killed mid-write (SIGKILL) leaves a temp file that the next save of the target removes', async () => {
    const dir = await tempDir();
    const path = join(dir, 'w.safetensors');
    // A process that has exited: its pid names the orphan, as a SIGKILLed writer's would.
    const child = spawn(process.execPath, ['-e', 'process.kill(process.pid, "SIGKILL")']);
    const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
    const orphan = `.w.safetensors.${deadPid}.1700000000000.abc123.tmp`;
    await writeFile(join(dir, orphan), 'half a file');
    // A writer that is still running (this test's parent process) and another target's temp stay.
    const running = `.w.safetensors.${process.ppid}.1700000000001.def456.tmp`;
    const otherTarget = `.v.safetensors.${deadPid}.1700000000002.aaa.tmp`;
    await writeFile(join(dir, running), 'in progress');
    await writeFile(join(dir, otherTarget), 'not ours');
    await saveSafetensors(path, { w: tensor([1, 2]) });
    expect((await readdir(dir)).sort()).toEqual([otherTarget, running, 'w.safetensors'].sort());
  });

  it('file errors are SafetensorsErrors naming the file', async () => {
    const dir = await tempDir();
    await expect(loadSafetensors(join(dir, 'missing.safetensors'))).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(join(dir, 'missing.safetensors'))).rejects.toThrow(
      /loadSafetensors: cannot read .*missing\.safetensors: ENOENT \(no such file or directory\)/,
    );
    await expect(saveSafetensors(join(dir, 'no/such/dir/w.safetensors'), { w: tensor([1]) })).rejects.toThrow(
      /saveSafetensors: cannot write .*no\/such\/dir\/w\.safetensors: ENOENT/,
    );
    await writeFile(join(dir, 'junk.safetensors'), 'not a safetensors file');
    await expect(loadSafetensors(join(dir, 'junk.safetensors'))).rejects.toThrow(
      /loadSafetensors: .*junk\.safetensors: safetensors: header length/,
    );
    await expect(loadModule(join(dir, 'missing.safetensors'), new MLP(2, [2]))).rejects.toThrow(
      SafetensorsError,
    );
  });

  it('saveModule/loadModule round-trip outputs', async () => {
    const dir = await tempDir();
    const a = new MLP(4, [6, 3], { seed: 1 });
    const b = new MLP(4, [6, 3], { seed: 2 });
    const x = randn([2, 4], { seed: 3 });
    expect(Array.from(b.forward(x).dataSync())).not.toEqual(Array.from(a.forward(x).dataSync()));
    await saveModule(join(dir, 'mlp.safetensors'), a);
    const r = await loadModule(join(dir, 'mlp.safetensors'), b);
    expect(r).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(a.forward(x).dataSync()));
    await expect(loadModule(join(dir, 'mlp.safetensors'), new MLP(4, [5, 3]))).rejects.toThrow(/mis-shaped/);
  });
});
