import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randn, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { SafetensorsError } from './errors.js';
import { Linear } from './linear.js';
import { serializeSafetensors } from './safetensors.js';
import { fetchSafetensors, loadModuleFrom, loadSafetensorsFrom } from './safetensors-source.js';

const bytes = () =>
  new Uint8Array(serializeSafetensors({ a: tensor([1, 2, 3]), b: tensor([[4], [5]], { dtype: 'int32' }) }));

describe('safetensors from bytes, Blob and Response (no file system)', () => {
  it('reads the same tensors from an ArrayBuffer, a typed array view, a Blob and a Response', async () => {
    const b = bytes();
    // A view with an offset into a larger buffer: only its own bytes are read.
    const padded = new Uint8Array(b.length + 16);
    padded.set(b, 8);
    const sources = [b.slice().buffer, padded.subarray(8, 8 + b.length), new Blob([b]), new Response(b)];
    for (const source of sources) {
      const t = await loadSafetensorsFrom(source);
      expect(Array.from(t['a']!.dataSync())).toEqual([1, 2, 3]);
      expect(t['b']!.shape).toEqual([2, 1]);
      expect(t['b']!.dtype).toBe('int32');
    }
  });

  it('refuses other sources and failed responses with a SafetensorsError', async () => {
    await expect(loadSafetensorsFrom('model.safetensors' as never)).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensorsFrom(new Response('gone', { status: 404 }))).rejects.toThrow(/HTTP 404/);
    await expect(loadSafetensorsFrom(new Blob([new Uint8Array(3)]))).rejects.toThrow(SafetensorsError);
  });

  it('fetches by URL, names the URL on an HTTP error, and loads into a module', async () => {
    const model = new Linear(3, 2, { seed: 1 });
    const file = new Uint8Array(serializeSafetensors(model.stateDict()));
    const server = createServer((req, res) => {
      if (req.url === '/m.safetensors') res.end(file);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const t = await fetchSafetensors(`${base}/m.safetensors`);
      expect(Object.keys(t).sort()).toEqual(['bias', 'weight']);
      await expect(fetchSafetensors(`${base}/missing`)).rejects.toThrow(`${base}/missing: HTTP 404`);
      const other = new Linear(3, 2, { seed: 2 });
      await loadModuleFrom(await fetch(`${base}/m.safetensors`), other);
      const x = randn([4, 3], { seed: 3 });
      expect(Array.from(other.forward(x).dataSync())).toEqual(Array.from(model.forward(x).dataSync()));
    } finally {
      server.close();
    }
  });
});
