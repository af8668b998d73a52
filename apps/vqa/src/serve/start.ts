import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { loadVqaBundle } from '../bundle.js';
import { buildPage } from './page-build.js';
import { createVqaServer } from './server.js';

/** A running server: where it listens, and how to stop it. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Loads a bundle, builds the page and listens (`port: 0` picks a free port).
 *
 * ```ts
 * const server = await startVqaServer({ bundleDir: 'runs/vqa/bundle', port: 8080 });
 * console.log(server.url); // http://127.0.0.1:8080/
 * ```
 */
export async function startVqaServer(options: {
  bundleDir: string;
  port: number;
  host?: string;
  maxUploadBytes?: number;
  maxImagePixels?: number;
}): Promise<RunningServer> {
  const bundle = await loadVqaBundle(options.bundleDir);
  const app = createVqaServer({
    bundle,
    bundleDir: options.bundleDir,
    page: await buildPage(),
    maxUploadBytes: options.maxUploadBytes,
    maxImagePixels: options.maxImagePixels,
  });
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname: host }, (info: AddressInfo) =>
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}/`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
    server.once('error', reject);
  });
}
