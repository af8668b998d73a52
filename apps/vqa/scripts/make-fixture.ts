/**
 * Writes `test/fixtures/tiny-vqa`: a hand-made folder in the VQA v2 layout (questions, annotations
 * with 10 answers each, `COCO_<split>_<id>` images) whose images are JPEG and PNG of different
 * sizes, as real COCO photos are. The tests train and evaluate on it; the files are committed, so
 * run this only to change them:
 *
 *   pnpm --dir apps/vqa exec tsx --conditions=@polymodal/source scripts/make-fixture.ts
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cocoImageName, createImage, encodeJpeg, encodePng, type RgbImage } from '@polymodal/data';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'tiny-vqa');

const COLORS = { red: [220, 40, 40], green: [40, 180, 60], blue: [40, 70, 220] } as const;
type Color = keyof typeof COLORS;

interface Picture {
  id: number;
  width: number;
  height: number;
  format: 'jpg' | 'png';
  color: Color;
  shape: 'square' | 'circle';
}

const SPLITS: Record<string, Picture[]> = {
  train2014: [
    { id: 1, width: 40, height: 30, format: 'jpg', color: 'red', shape: 'square' },
    { id: 2, width: 32, height: 48, format: 'png', color: 'green', shape: 'circle' },
    { id: 3, width: 64, height: 64, format: 'jpg', color: 'blue', shape: 'circle' },
    { id: 4, width: 50, height: 36, format: 'png', color: 'red', shape: 'circle' },
    { id: 5, width: 36, height: 28, format: 'jpg', color: 'green', shape: 'square' },
    { id: 6, width: 60, height: 40, format: 'png', color: 'blue', shape: 'square' },
  ],
  val2014: [
    { id: 101, width: 48, height: 32, format: 'png', color: 'red', shape: 'circle' },
    { id: 102, width: 30, height: 44, format: 'jpg', color: 'blue', shape: 'square' },
    { id: 103, width: 56, height: 56, format: 'jpg', color: 'green', shape: 'circle' },
  ],
};

/** One shape in the middle of a gray picture, half as wide as the shorter side. */
function draw(p: Picture): RgbImage {
  const img = createImage(p.width, p.height, [128, 128, 128]);
  const r = Math.min(p.width, p.height) / 4;
  const [cx, cy] = [p.width / 2, p.height / 2];
  for (let y = 0; y < p.height; y++)
    for (let x = 0; x < p.width; x++) {
      const [dx, dy] = [x + 0.5 - cx, y + 0.5 - cy];
      const inside =
        p.shape === 'square' ? Math.max(Math.abs(dx), Math.abs(dy)) <= r : dx * dx + dy * dy <= r * r;
      if (inside) img.data.set(COLORS[p.color], (y * p.width + x) * 3);
    }
  return img;
}

/** Ten annotators; the first picture's color gets three dissenting answers (a 0.9 / 0.3 split). */
function answers(
  majority: string,
  dissent?: string,
): { answer: string; answer_confidence: string; answer_id: number }[] {
  return Array.from({ length: 10 }, (_, i) => ({
    answer: dissent && i >= 7 ? dissent : majority,
    answer_confidence: 'yes',
    answer_id: i + 1,
  }));
}

await rm(OUT, { recursive: true, force: true });
for (const [split, pictures] of Object.entries(SPLITS)) {
  await mkdir(join(OUT, split), { recursive: true });
  const questions: unknown[] = [];
  const annotations: unknown[] = [];
  for (const [k, p] of pictures.entries()) {
    const img = draw(p);
    await writeFile(
      join(OUT, split, cocoImageName(split, p.id, p.format)),
      p.format === 'jpg' ? encodeJpeg(img, 85) : encodePng(img),
    );
    const asks = [
      {
        question: 'What color is the shape?',
        type: 'what color is the',
        answerType: 'other',
        answer: p.color,
        dissent: k === 0 ? 'orange' : undefined,
      },
      {
        question: 'Is the shape a circle?',
        type: 'is the',
        answerType: 'yes/no',
        answer: p.shape === 'circle' ? 'yes' : 'no',
      },
    ];
    for (const [j, a] of asks.entries()) {
      const questionId = p.id * 10 + j;
      questions.push({ image_id: p.id, question: a.question, question_id: questionId });
      annotations.push({
        question_id: questionId,
        image_id: p.id,
        question_type: a.type,
        answer_type: a.answerType,
        multiple_choice_answer: a.answer,
        answers: answers(a.answer, a.dissent),
      });
    }
  }
  await writeFile(
    join(OUT, `v2_OpenEnded_mscoco_${split}_questions.json`),
    `${JSON.stringify({ task_type: 'Open-Ended', data_type: 'mscoco', data_subtype: split, questions })}\n`,
  );
  await writeFile(
    join(OUT, `v2_mscoco_${split}_annotations.json`),
    `${JSON.stringify({ data_type: 'mscoco', data_subtype: split, annotations })}\n`,
  );
}
console.log(`wrote ${OUT}`);
