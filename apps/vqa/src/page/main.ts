// The page: runs the bundle in the browser with the same code as the server (bundle-core) and
// compares the two answers. Built by esbuild when `serve` starts (see serve/page-build.ts).
import { decodeImageBrowser, type RgbImage } from '@polymodal/data/browser';
import { getBackend, setBackend } from '@polymodal/tensor';
import {
  BUNDLE_FILES,
  type BundleFiles,
  bundleFromFiles,
  encodeQuestion,
  type VqaBundle,
  type VqaPrediction,
} from '../bundle-core.js';
import { type AttentionMap, attentionMap, overlayAttention } from '../model/attention-map.js';

/** What the last question got, for people and for the end-to-end test. */
interface PageResult {
  question: string;
  server?: VqaPrediction & { backend: string; attention: AttentionMap | null };
  browser?: VqaPrediction & { backend: string };
  agree?: boolean;
  error?: string;
}
declare global {
  interface Window {
    vqa: { ready: boolean; last: PageResult | null };
  }
}
window.vqa = { ready: false, last: null };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => {
  $('status').textContent = text;
};
let bundle: VqaBundle | null = null;
let file: File | null = null;
let picture: RgbImage | null = null;

function draw(canvas: HTMLCanvasElement, img: RgbImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d')!;
  const data = ctx.createImageData(img.width, img.height);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) data.data[p * 4 + c] = img.data[p * 3 + c]!;
    data.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(data, 0, 0);
}

function showAnswers(id: string, p: VqaPrediction): void {
  $(id).classList.remove('muted');
  $(id).innerHTML = `<table>${p.answers
    .map(
      (a) =>
        `<tr><td>${a.answer.replace(/</g, '&lt;')}</td><td>${(100 * a.score).toFixed(1)}%</td><td><span class="bar" style="width:${Math.round(120 * a.score)}px"></span></td></tr>`,
    )
    .join('')}</table>`;
}

async function loadBundle(): Promise<void> {
  const backend = new URLSearchParams(location.search).get('backend') ?? 'wasm';
  try {
    setBackend(backend);
  } catch {
    setBackend('cpu');
  }
  $('browser-backend').textContent = getBackend();
  const get = (name: string) =>
    fetch(`bundle/${name}`).then((r) => {
      if (!r.ok) throw new Error(`bundle/${name}: HTTP ${r.status}`);
      return r;
    });
  const json = async (name: string) => (await get(name)).json();
  const files: BundleFiles = {
    config: await json(BUNDLE_FILES.config),
    weights: new Uint8Array(await (await get(BUNDLE_FILES.weights)).arrayBuffer()),
    vocab: await (await get(BUNDLE_FILES.vocab)).text(),
    answers: await json(BUNDLE_FILES.answers),
    preprocessor: await json(BUNDLE_FILES.preprocessor),
    trainingArgs: await json(BUNDLE_FILES.trainingArgs),
  };
  bundle = bundleFromFiles(files, `${location.origin}/bundle`);
  status(
    `bundle loaded: fusion '${bundle.config.fusion.type}', ${bundle.answers.length} answers, ${bundle.config.imageSize} px input; pick an image`,
  );
  window.vqa.ready = true;
}

async function pick(f: File): Promise<void> {
  file = f;
  try {
    picture = await decodeImageBrowser(f, f.name);
    draw($('picture'), picture);
    status(`${f.name}: ${picture.width}×${picture.height}`);
  } catch (e) {
    picture = null;
    status(`cannot read ${f.name}: ${(e as Error).message}`);
  }
}

async function askServer(question: string): Promise<PageResult['server']> {
  const form = new FormData();
  form.append('image', file!, file!.name);
  form.append('question', question);
  const r = await fetch('api/answer', { method: 'POST', body: form });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ?? `HTTP ${r.status}`);
  return body;
}

function showAttention(map: AttentionMap | null): void {
  if (!map || !picture) {
    $('attention-note').textContent = 'this fusion has no text → image attention';
    return;
  }
  draw($('attention'), overlayAttention(picture, map));
  $('attention-note').textContent = 'where the question looked';
}

async function ask(): Promise<void> {
  const question = ($('question') as HTMLInputElement).value;
  const source = (document.querySelector('input[name=source]:checked') as HTMLInputElement).value;
  const result: PageResult = { question };
  window.vqa.last = null;
  try {
    if (!file || !picture) throw new Error('pick an image first');
    if (question.trim() === '') throw new Error('type a question');
    if (source !== 'browser') {
      result.server = await askServer(question);
      showAnswers('server-answers', result.server!);
    }
    if (source !== 'server' && bundle) {
      result.browser = { ...bundle.predict({ image: picture, question }, 5), backend: getBackend() };
      showAnswers('browser-answers', result.browser);
      const { ids } = encodeQuestion(bundle.tokenizer, question, bundle.config.maxTextLength);
      showAttention(attentionMap(bundle.model, bundle.processor, picture, ids));
    }
    if (result.server && !result.browser) showAttention(result.server.attention);
    if (result.server && result.browser) {
      result.agree = result.server.answers[0]!.answer === result.browser.answers[0]!.answer;
      $('agree').textContent = result.agree
        ? `server and browser agree: ${result.browser.answers[0]!.answer}`
        : 'server and browser disagree';
      $('agree').className = result.agree ? 'yes' : 'no';
    }
    $('notes').textContent = [
      ...new Set([...(result.server?.notes ?? []), ...(result.browser?.notes ?? [])]),
    ].join(' ');
  } catch (e) {
    result.error = (e as Error).message;
    status(result.error);
  }
  window.vqa.last = result;
}

$<HTMLInputElement>('image').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void pick(f);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) void pick(f);
});
$('ask').addEventListener('click', () => void ask());
$('question').addEventListener('keydown', (e) => {
  if (e.key === 'Enter') void ask();
});
loadBundle().catch((e) => status(`cannot load the bundle in the browser: ${(e as Error).message}`));
