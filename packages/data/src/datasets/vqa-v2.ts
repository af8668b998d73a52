import { join } from 'node:path';
import { DatasetError } from './dataset-error.js';
import { cocoImageName, findCocoImage } from './image-path.js';
import { field, optionalField, readJsonFile } from './json-schema.js';
import { type OnError, SkipReport } from './skip-report.js';

/** One VQA v2 question with its image and (when annotated) its 10 human answers. */
export interface VqaSample {
  questionId: number;
  imageId: number;
  imagePath: string;
  question: string;
  /** The 10 crowd answers (empty for test splits). */
  answers: string[];
  multipleChoiceAnswer?: string;
  /** e.g. "what color is the" */
  questionType?: string;
  /** "yes/no" | "number" | "other" */
  answerType?: string;
}

export interface ReadVqaOptions {
  /** Folder holding the JSON files (and, by default, the image folder `<split>/`). */
  root: string;
  /** e.g. `train2014`, `val2014`, `test2015`. */
  split: string;
  questionsFile?: string;
  /** `null` for splits without annotations (test). */
  annotationsFile?: string | null;
  imageDir?: string;
  /** Image extensions tried in order. Default `['jpg', 'png']`. */
  extensions?: readonly string[];
  /**
   * Skip (and report) questions with a missing image, empty text or an image_id that disagrees with
   * their annotation's, and annotations that match no question, instead of throwing. Default 'throw'.
   */
  onError?: OnError;
  report?: SkipReport;
}

const READER = 'readVqaV2';

/**
 * Reads VQA v2 (Goyal et al. 2017, "Making the V in VQA Matter") in its published layout:
 * `v2_OpenEnded_mscoco_<split>_questions.json`, `v2_mscoco_<split>_annotations.json` (10 answers
 * per question) and images `<split>/COCO_<split>_<12-digit id>.jpg`. The two JSON files are
 * checked against each other: each question needs its annotation, both must name the same
 * image_id, no annotation may be left without its question, and no id may repeat.
 *
 * ```ts
 * const { samples, report } = await readVqaV2({ root: 'data/vqa', split: 'val2014' });
 * samples[0].question; samples[0].answers.length; // 10
 * ```
 */
export async function readVqaV2(
  options: ReadVqaOptions,
): Promise<{ samples: VqaSample[]; report: SkipReport }> {
  const { root, split } = options;
  const report = options.report ?? new SkipReport();
  const onError = options.onError ?? 'throw';
  const extensions = options.extensions ?? ['jpg', 'png'];
  const imageDir = options.imageDir ?? join(root, split);
  const qFile = join(root, options.questionsFile ?? `v2_OpenEnded_mscoco_${split}_questions.json`);
  const qJson = await readJsonFile(READER, qFile);
  const questions = field<unknown[]>(READER, qFile, 'root', qJson, 'questions', 'array');

  const annotations = new Map<number, Omit<VqaSample, 'imagePath' | 'question'>>();
  const annotationsName =
    options.annotationsFile === undefined ? `v2_mscoco_${split}_annotations.json` : options.annotationsFile;
  if (annotationsName !== null) {
    const aFile = join(root, annotationsName);
    const aJson = await readJsonFile(READER, aFile);
    field<unknown[]>(READER, aFile, 'root', aJson, 'annotations', 'array').forEach((a, i) => {
      const path = `annotations[${i}]`;
      const questionId = field<number>(READER, aFile, path, a, 'question_id', 'number');
      const answers = field<unknown[]>(READER, aFile, path, a, 'answers', 'array').map((ans, j) =>
        field<string>(READER, aFile, `${path}.answers[${j}]`, ans, 'answer', 'string'),
      );
      if (annotations.has(questionId))
        throw new DatasetError(READER, aFile, `${path} repeats question_id ${questionId} (annotated twice)`);
      annotations.set(questionId, {
        questionId,
        imageId: field<number>(READER, aFile, path, a, 'image_id', 'number'),
        answers,
        multipleChoiceAnswer: field<string>(READER, aFile, path, a, 'multiple_choice_answer', 'string'),
        questionType: optionalField<string>(READER, aFile, path, a, 'question_type', 'string'),
        answerType: optionalField<string>(READER, aFile, path, a, 'answer_type', 'string'),
      });
    });
  }

  const samples: VqaSample[] = [];
  report.total += questions.length;
  const asked = new Set<number>();
  questions.forEach((q, i) => {
    const path = `questions[${i}]`;
    const questionId = field<number>(READER, qFile, path, q, 'question_id', 'number');
    const imageId = field<number>(READER, qFile, path, q, 'image_id', 'number');
    const question = field<string>(READER, qFile, path, q, 'question', 'string');
    if (asked.has(questionId))
      throw new DatasetError(READER, qFile, `${path} repeats question_id ${questionId}`);
    asked.add(questionId);
    const ann = annotations.get(questionId);
    if (annotationsName !== null && !ann) {
      throw new DatasetError(
        READER,
        qFile,
        `${path} (question_id ${questionId}) has no annotation in ${annotationsName}`,
      );
    }
    const fail = (item: string, reason: string) => {
      if (onError === 'skip') report.skip(item, reason);
      else throw new DatasetError(READER, qFile, `${path} (question_id ${questionId}): ${item}: ${reason}`);
    };
    // The two files must describe the same image: else the sample would pair one image with
    // another image's answers.
    if (ann && ann.imageId !== imageId) {
      fail(
        `question ${questionId}`,
        `image_id ${imageId} in ${qFile} but ${ann.imageId} in its annotation in ${annotationsName}`,
      );
      return;
    }
    if (question.trim() === '') {
      report.empty += 1;
      fail(`question ${questionId}`, 'empty question text');
      return;
    }
    const imagePath = findCocoImage(imageDir, split, imageId, extensions);
    if (!imagePath) {
      fail(cocoImageName(split, imageId, extensions[0]), `image not found in ${imageDir}`);
      return;
    }
    samples.push({ answers: [], ...ann, questionId, imageId, imagePath, question });
  });
  // Annotations no question asks: the files do not belong together (or one was cut).
  const orphans = [...annotations.keys()].filter((id) => !asked.has(id));
  if (orphans.length) {
    const shown =
      orphans.slice(0, 5).join(', ') + (orphans.length > 5 ? `, … (${orphans.length} in all)` : '');
    const reason = `question_id ${shown} ${orphans.length === 1 ? 'matches' : 'match'} no question in ${qFile}`;
    if (onError === 'skip')
      for (const id of orphans) report.skip(`annotation ${id}`, `matches no question in ${qFile}`);
    else throw new DatasetError(READER, join(root, annotationsName!), `annotation ${reason}`);
  }
  return { samples, report };
}
