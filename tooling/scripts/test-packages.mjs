#!/usr/bin/env node
// Checks every published package as a user gets it: `pnpm pack` (workspace: ranges become versions),
// then per package an empty folder where plain `npm install` takes that tarball and the tarballs of
// its @polymodal dependencies, and there
//   - a tiny ESM script and a CommonJS script run in Node (a broken `exports` map, a missing file or
//     a workspace-only dependency fails here; the CommonJS one also checks that `require` and
//     `import` share one engine),
//   - the browser entry typechecks without @types/node,
//   - a small script bundles with esbuild's default browser settings and no externals, then runs in
//     headless Chromium (Debian's /usr/bin/chromium).
// It measures install size and minified + gzipped bundle size, checks the targets of issue #18
// (fusion installs in <= 10 MB with no install scripts; tensor + nn + attention + fusion bundle in
// <= 150 kB), writes tooling/scripts/packages-report.json and test-results.packages.json (which
// .ci/run's summary counts). Run through `pnpm test:packages` (it builds first).
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { chromium } from 'playwright';

const root = new URL('../../', import.meta.url).pathname;
const here = new URL('.', import.meta.url).pathname;
const MB = 1024 * 1024;
const TARGETS = { fusionInstallBytes: 10 * MB, coreBundleGzipBytes: 150 * 1024 };
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Per package: its @polymodal dependencies, a Node ESM script, a CommonJS script, and (when it runs
 * in a browser) the entry to typecheck and bundle with the script that runs in Chromium. Scripts
 * throw on a wrong result; browser ones end by returning a summary string.
 */
const PACKAGES = {
  tensor: {
    deps: [],
    esm: `import assert from 'node:assert/strict';
import { getBackend, matmul, tensor } from '@polymodal/tensor';
const y = matmul(tensor([[1, 2], [3, 4]]), tensor([[1], [1]]));
assert.deepEqual(Array.from(y.dataSync()), [3, 7]);
assert.equal(getBackend(), 'wasm');`,
    cjs: `const assert = require('node:assert/strict');
const { tensor } = require('@polymodal/tensor');
assert.deepEqual(Array.from(tensor([1, 2]).mul(2).dataSync()), [2, 4]);`,
    browser: {
      entry: '@polymodal/tensor',
      code: `import { getBackend, matmul, tensor } from '@polymodal/tensor';
const y = matmul(tensor([[1, 2], [3, 4]]), tensor([[1], [1]]));
const v = Array.from(await y.data());
if (v.join() !== '3,7') throw new Error('matmul gave ' + v);
return 'matmul on ' + getBackend();`,
    },
  },
  nn: {
    deps: ['tensor'],
    esm: `import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linear } from '@polymodal/nn';
import { loadModule, saveModule } from '@polymodal/nn/node';
import { randn } from '@polymodal/tensor';
const a = new Linear(3, 2, { seed: 1 });
const b = new Linear(3, 2, { seed: 2 });
const file = join(mkdtempSync(join(tmpdir(), 'nn-')), 'a.safetensors');
await saveModule(file, a);
await loadModule(file, b);
const x = randn([4, 3], { seed: 3 });
assert.deepEqual(Array.from(b.forward(x).dataSync()), Array.from(a.forward(x).dataSync()));`,
    // The dual-package case of issue #18: an ESM tensor handed to a CommonJS-required module.
    cjs: `const assert = require('node:assert/strict');
const { Linear } = require('@polymodal/nn');
import('@polymodal/tensor').then(({ randn, Tensor }) => {
  const y = new Linear(3, 2, { seed: 0 }).forward(randn([1, 3], { seed: 1 }));
  assert.ok(y instanceof Tensor, 'require and import must share one Tensor class');
  assert.deepEqual(y.shape, [1, 2]);
});`,
    browser: {
      entry: '@polymodal/nn',
      code: `import { Linear, loadModuleFrom, serializeSafetensors } from '@polymodal/nn';
import { randn } from '@polymodal/tensor';
const a = new Linear(3, 2, { seed: 1 });
const b = new Linear(3, 2, { seed: 2 });
await loadModuleFrom(new Blob([serializeSafetensors(a.stateDict())]), b);
const x = randn([4, 3], { seed: 3 });
if (b.forward(x).sub(a.forward(x)).abs().max().item() !== 0) throw new Error('weights differ after load');
return 'Linear saved to a Blob and loaded back';`,
    },
  },
  attention: {
    deps: ['tensor', 'nn'],
    esm: `import assert from 'node:assert/strict';
import { CrossModalAttention } from '@polymodal/attention';
import { randn } from '@polymodal/tensor';
const { output } = new CrossModalAttention(8, 16, { numHeads: 2, seed: 0 }).forward(randn([2, 3, 8]), randn([2, 5, 16]));
assert.deepEqual(output.shape, [2, 3, 8]);`,
    cjs: `const assert = require('node:assert/strict');
assert.equal(typeof require('@polymodal/attention').TransformerEncoder, 'function');`,
    browser: {
      entry: '@polymodal/attention',
      code: `import { TransformerEncoder } from '@polymodal/attention';
import { randn } from '@polymodal/tensor';
const enc = new TransformerEncoder({ dModel: 16, nHead: 2, dimFeedforward: 32, seed: 1 }, 2);
const y = enc.forward(randn([2, 5, 16], { seed: 2 }));
if (y.shape.join() !== '2,5,16' || !Number.isFinite(y.sum().item())) throw new Error('bad encoder output');
return 'TransformerEncoder forward';`,
    },
  },
  fusion: {
    deps: ['tensor', 'nn', 'attention'],
    esm: `import assert from 'node:assert/strict';
import { fusionFromConfig } from '@polymodal/fusion';
import { randn } from '@polymodal/tensor';
const f = fusionFromConfig({ type: 'gated', inputDims: { image: 6, text: 4 }, outputDim: 5 });
assert.deepEqual(f.forward({ image: randn([2, 6]), text: randn([2, 4]) }).fused.shape, [2, 5]);`,
    cjs: `const assert = require('node:assert/strict');
assert.equal(typeof require('@polymodal/fusion').fusionFromConfig, 'function');`,
    // Imports from all four packages: its bundle size is the tensor + nn + attention + fusion target.
    browser: {
      entry: '@polymodal/fusion',
      code: `import { CrossModalAttention } from '@polymodal/attention';
import { EarlyFusion, fusionFromConfig } from '@polymodal/fusion';
import { Linear } from '@polymodal/nn';
import { ones, randn } from '@polymodal/tensor';
const image = new Linear(12, 16, { seed: 0 }).forward(randn([2, 4, 12], { seed: 1 }));
const text = randn([2, 3, 8], { seed: 2 });
const vilt = new EarlyFusion({ inputDims: { image: 16, text: 8 }, dModel: 16, numLayers: 1, seed: 0 });
const { fused } = vilt.forward({ image, text }, { text: ones([2, 3], { dtype: 'bool' }) });
const gated = fusionFromConfig({ type: 'gated', inputDims: { image: 16, text: 8 }, outputDim: 16 });
const g = gated.forward({ image: image.mean(1), text: text.mean(1) }).fused;
const x = new CrossModalAttention(8, 16, { numHeads: 2, seed: 3 }).forward(text, image).output;
if (fused.shape.join() !== '2,16' || g.shape.join() !== '2,16' || x.shape.join() !== '2,3,8') throw new Error('bad shapes');
return 'EarlyFusion, gated fusion and cross-modal attention';`,
    },
  },
  losses: {
    deps: ['tensor', 'nn'],
    esm: `import assert from 'node:assert/strict';
import { ContrastiveLoss, vqaAccuracy } from '@polymodal/losses';
import { randn } from '@polymodal/tensor';
const { loss } = new ContrastiveLoss().forward(randn([4, 8], { seed: 1 }), randn([4, 8], { seed: 2 }));
assert.ok(loss.item() > 0);
assert.equal(vqaAccuracy('Two', ['2', '2', '2', '3', '3', '3', '3', '3', '3', '3']), 0.9);`,
    cjs: `const assert = require('node:assert/strict');
assert.equal(typeof require('@polymodal/losses').ContrastiveLoss, 'function');`,
    browser: {
      entry: '@polymodal/losses',
      code: `import { ContrastiveLoss } from '@polymodal/losses';
import { randn } from '@polymodal/tensor';
const img = randn([4, 8], { seed: 1, requiresGrad: true });
const { loss } = new ContrastiveLoss().forward(img, randn([4, 8], { seed: 2 }));
loss.backward();
if (!(loss.item() > 0) || img.grad.shape.join() !== '4,8') throw new Error('bad loss or gradient');
return 'contrastive loss and its gradient';`,
    },
  },
  finetune: {
    deps: ['tensor', 'nn'],
    esm: `import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SGD } from '@polymodal/finetune';
import { Trainer } from '@polymodal/finetune/node';
import { Linear } from '@polymodal/nn';
import { tensor } from '@polymodal/tensor';
const model = new Linear(1, 1, { seed: 0 });
const dir = mkdtempSync(join(tmpdir(), 'ft-'));
const batches = [0, 1, 2, 3].map((i) => ({ x: tensor([[i]]), y: tensor([[2 * i]]) }));
const trainer = new Trainer({ model, optimizer: new SGD(model.parameters(), { lr: 0.01 }), progress: 'none', log: () => {},
  computeLoss: (m, b) => m.forward(b.x).sub(b.y).square().mean(), trainData: batches, maxSteps: 4, checkpointDir: dir });
await trainer.train();
assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('checkpoint-')), ['checkpoint-00000004']);`,
    cjs: `const assert = require('node:assert/strict');
assert.equal(typeof require('@polymodal/finetune').AdamW, 'function');
assert.equal(typeof require('@polymodal/finetune/node').CheckpointStore, 'function');`,
    browser: {
      entry: '@polymodal/finetune',
      code: `import { AdamW, Trainer } from '@polymodal/finetune';
import { Linear } from '@polymodal/nn';
import { tensor } from '@polymodal/tensor';
const model = new Linear(1, 1, { seed: 0 });
const saved = new Map();
const store = { save: async (step, files) => (saved.set(step, files), 'memory:' + step), loadLatest: async () => null };
const steps = [];
const trainer = new Trainer({ model, optimizer: new AdamW(model.parameters(), { lr: 0.05 }), log: () => {},
  computeLoss: (m, b) => m.forward(b.x).sub(b.y).square().mean(), trainData: [0, 1, 2, 3].map((i) => ({ x: tensor([[i]]), y: tensor([[2 * i]]) })),
  maxSteps: 4, store, checkpointEvery: 2, progress: (u) => steps.push(u.step) });
await trainer.train();
if (![...saved.keys()].includes(4) || !steps.includes(4)) throw new Error('no checkpoint or progress');
return 'Trainer with a memory store and a progress function';`,
    },
  },
  data: {
    deps: ['tensor'],
    esm: `import assert from 'node:assert/strict';
import { sampleScene, sceneQuestions } from '@polymodal/data';
import { Generator } from '@polymodal/tensor';
const scene = sampleScene(new Generator(1), { size: 64, objects: 4 });
assert.ok(sceneQuestions(scene, new Generator(2), 3).length === 3);`,
    cjs: `const assert = require('node:assert/strict');
assert.equal(typeof require('@polymodal/data').sampleScene, 'function');
assert.equal(typeof require('@polymodal/data/browser').sampleScene, 'function');`,
    browser: {
      entry: '@polymodal/data/browser',
      code: `import { sampleScene, sceneCaptions } from '@polymodal/data/browser';
import { Generator } from '@polymodal/tensor';
const scene = sampleScene(new Generator(1), { size: 64, objects: 4 });
const captions = sceneCaptions(scene, new Generator(2), 2);
if (captions.length !== 2) throw new Error('no captions');
return 'Sort-of-CLEVR scene: ' + captions[0];`,
    },
  },
  'backend-gpujs': {
    deps: ['tensor'],
    esm: `import assert from 'node:assert/strict';
import '@polymodal/backend-gpujs';
import { matmul, setBackend, tensor } from '@polymodal/tensor';
setBackend('gpujs-webasm');
assert.deepEqual(Array.from(matmul(tensor([[1, 2], [3, 4]]), tensor([[1], [1]])).dataSync()), [3, 7]);`,
    cjs: `const assert = require('node:assert/strict');
assert.equal(typeof require('@polymodal/backend-gpujs').GpujsBackend, 'function');`,
    browser: {
      entry: '@polymodal/backend-gpujs',
      code: `import '@polymodal/backend-gpujs';
import { matmul, setBackend, tensor } from '@polymodal/tensor';
setBackend('gpujs-webgl2');
const v = Array.from(await matmul(tensor([[1, 2], [3, 4]]), tensor([[1], [1]])).data());
if (v.join() !== '3,7') throw new Error('webgl2 matmul gave ' + v);
return 'matmul on gpujs-webgl2';`,
    },
  },
};

const results = [];
const failures = [];
function check(name, fn) {
  try {
    const detail = fn();
    results.push({ name, ok: true, ...(detail ? { detail } : {}) });
    console.log(`ok   ${name}${detail ? `: ${detail}` : ''}`);
  } catch (e) {
    const message = String(e?.stderr?.toString?.() || e?.message || e)
      .trim()
      .split('\n')
      .slice(-15)
      .join('\n');
    results.push({ name, ok: false, message });
    failures.push(name);
    console.log(`FAIL ${name}\n${message}`);
  }
}
async function checkAsync(name, fn) {
  try {
    const detail = await fn();
    results.push({ name, ok: true, ...(detail ? { detail } : {}) });
    console.log(`ok   ${name}${detail ? `: ${detail}` : ''}`);
  } catch (e) {
    results.push({ name, ok: false, message: String(e?.message ?? e) });
    failures.push(name);
    console.log(`FAIL ${name}\n${e?.message ?? e}`);
  }
}
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, {
    cwd,
    stdio: 'pipe',
    env: {
      ...process.env,
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      npm_config_update_notifier: 'false',
    },
  }).toString();

/** Bytes of every file under `dir` (apparent sizes, as `du -sb`). */
function sizeOf(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) total += sizeOf(p);
    else if (entry.isFile()) total += statSync(p).size;
  }
  return total;
}

/** Installed packages that declare an install-time script (or a node-gyp build). */
function installScripts(nodeModules) {
  const found = [];
  const visit = (dir) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      if (name.startsWith('@')) {
        visit(p);
        continue;
      }
      const manifest = join(p, 'package.json');
      if (existsSync(manifest)) {
        const { scripts = {} } = JSON.parse(readFileSync(manifest, 'utf8'));
        const hooks = ['preinstall', 'install', 'postinstall'].filter((h) => scripts[h]);
        if (hooks.length || existsSync(join(p, 'binding.gyp')))
          found.push(`${name} (${hooks.join(', ') || 'binding.gyp'})`);
      }
      visit(join(p, 'node_modules'));
    }
  };
  visit(nodeModules);
  return found;
}

const mb = (b) => `${(b / MB).toFixed(1)} MB`;
const kb = (b) => `${(b / 1024).toFixed(1)} kB`;

// ---- pack ----------------------------------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'polymodal-packages-'));
const tarballs = {};
for (const name of Object.keys(PACKAGES)) {
  check(`pack @polymodal/${name}`, () => {
    const out = run('pnpm', ['pack', '--pack-destination', work], join(root, 'packages', name));
    const file = out.trim().split('\n').pop().trim();
    tarballs[name] = file.startsWith('/') ? file : join(work, file);
    const listing = run('tar', ['-tzf', tarballs[name]], work);
    for (const required of ['package/LICENSE', 'package/dist/index.js', 'package/dist/index.d.ts'])
      if (!listing.includes(required)) throw new Error(`tarball lacks ${required}`);
    if (/workspace:/.test(run('tar', ['-xzOf', tarballs[name], 'package/package.json'], work)))
      throw new Error('package.json still has a workspace: range');
    return `${kb(statSync(tarballs[name]).size)} packed`;
  });
}

// ---- per package: npm install into an empty folder, scripts, types, browser bundle ---------------
const report = { installs: {}, bundles: {} };
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
for (const [name, spec] of Object.entries(PACKAGES)) {
  const dir = join(work, `use-${name}`);
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `use-${name}`, private: true, type: 'module' }),
  );
  const wanted = [...spec.deps, name];
  let installed = false;
  check(`npm install @polymodal/${name}`, () => {
    if (wanted.some((d) => !tarballs[d])) throw new Error('a tarball is missing');
    // --ignore-scripts: the scripts that would have run are reported below (and must be none). gpu.js's optional headless-gl is left out: with its ~150 build-time packages it
    // takes minutes to fetch (and, with X11 headers, 8 minutes to compile); only Node GPU users need it.
    const optional = name === 'backend-gpujs' ? ['--omit=optional'] : [];
    run(
      'npm',
      ['install', '--ignore-scripts', '--no-package-lock', ...optional, ...wanted.map((d) => tarballs[d])],
      dir,
    );
    installed = true;
    const bytes = sizeOf(join(dir, 'node_modules'));
    const scripts = installScripts(join(dir, 'node_modules'));
    report.installs[name] = { bytes, installScripts: scripts };
    // None anywhere: data's native parts (sharp, @napi-rs/canvas) arrive prebuilt as platform packages.
    if (scripts.length) throw new Error(`install scripts: ${scripts.join(', ')}`);
    if (name === 'fusion' && bytes > TARGETS.fusionInstallBytes)
      throw new Error(`${mb(bytes)} on disk, target ${mb(TARGETS.fusionInstallBytes)}`);
    return `${mb(bytes)} on disk${scripts.length ? `; install scripts: ${scripts.join(', ')}` : ''}`;
  });
  if (!installed) continue;
  writeFileSync(join(dir, 'esm.mjs'), spec.esm);
  writeFileSync(join(dir, 'cjs.cjs'), spec.cjs);
  check(`@polymodal/${name}: ESM script in Node`, () => void run(process.execPath, ['esm.mjs'], dir));
  check(
    `@polymodal/${name}: CommonJS script in Node (require)`,
    () => void run(process.execPath, ['cjs.cjs'], dir),
  );
  if (!spec.browser) continue;
  // Types of the browser entry with no Node types in scope (a browser app's tsconfig).
  check(`${spec.browser.entry}: types without @types/node`, () => {
    writeFileSync(
      join(dir, 'types.ts'),
      `import * as m from '${spec.browser.entry}';\nexport const names: string[] = Object.keys(m);\n`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          types: [],
          skipLibCheck: false,
        },
        files: ['types.ts'],
      }),
    );
    run(process.execPath, [join(here, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], dir);
  });
  await checkAsync(`${spec.browser.entry}: esbuild browser bundle runs in Chromium`, async () => {
    const imports = spec.browser.code.match(/^import .*$/gm).join('\n');
    writeFileSync(
      join(dir, 'browser-entry.mjs'),
      `${imports}\nglobalThis.__result = (async () => {\n${spec.browser.code.replace(/^import .*$/gm, '')}\n})();\n`,
    );
    // esbuild's defaults for the browser: platform 'browser', no externals; minified for the size.
    const out = await build({
      entryPoints: [join(dir, 'browser-entry.mjs')],
      bundle: true,
      minify: true,
      write: false,
      absWorkingDir: dir,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0].contents;
    const gzip = gzipSync(code, { level: 9 }).length;
    report.bundles[name] = { minifiedBytes: code.length, gzipBytes: gzip };
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto('about:blank');
      await page.addScriptTag({ content: Buffer.from(code).toString('utf8') });
      const message = await page.evaluate(() => globalThis.__result);
      if (errors.length) throw new Error(errors.join('\n'));
      if (name === 'fusion' && gzip > TARGETS.coreBundleGzipBytes)
        throw new Error(`${kb(gzip)} min+gzip, target ${kb(TARGETS.coreBundleGzipBytes)}`);
      return `${message}; ${kb(code.length)} min, ${kb(gzip)} min+gzip`;
    } finally {
      await page.close();
    }
  });
}
await browser.close();

writeFileSync(
  join(here, 'packages-report.json'),
  `${JSON.stringify({ ...report, checks: results }, null, 2)}\n`,
);
const passed = results.filter((r) => r.ok).length;
writeFileSync(
  join(here, 'test-results.packages.json'),
  JSON.stringify({ numPassedTests: passed, numFailedTests: failures.length }),
);
if (!process.env.KEEP_PACKAGE_CHECKS) rmSync(work, { recursive: true, force: true });
console.log(
  `\npackage checks: ${passed} passed, ${failures.length} failed${failures.length ? ` (${failures.join('; ')})` : ''}`,
);
process.exit(failures.length ? 1 : 0);
