// Run in a fresh process by bundle.test.ts: loads a bundle and prints every answer's score for each
// (image, question) given as JSON in argv[3].
import { loadVqaBundle, readImage } from '../src/bundle.js';

const [dir, asks] = process.argv.slice(2) as [string, string];
const bundle = await loadVqaBundle(dir);
const out = [];
for (const { image, question } of JSON.parse(asks) as { image: string; question: string }[])
  out.push(bundle.predict({ image: await readImage(image), question }, bundle.answers.length));
process.stdout.write(JSON.stringify(out));
