import { existsSync } from 'node:fs';
import { DatasetError } from './dataset-error.js';
import { confinedPath } from './image-path.js';
import { field, optionalField, readJsonFile } from './json-schema.js';
import { type OnError, SkipReport } from './skip-report.js';

export interface ClevrSample {
  imageIndex: number;
  imagePath: string;
  question: string;
  /** Absent in the test split. */
  answer?: string;
  questionFamilyIndex?: number;
}

export interface ReadClevrOptions {
  /** Path of `CLEVR_<split>_questions.json`. */
  questionsFile: string;
  /** Folder holding the `image_filename`s (`CLEVR_v1.0/images/<split>`). */
  imageDir: string;
  onError?: OnError;
  report?: SkipReport;
}

const READER = 'readClevr';

/**
 * Reads CLEVR questions (Johnson et al. 2017, "CLEVR: A Diagnostic Dataset for Compositional
 * Language and Elementary Visual Reasoning"): `{ questions: [{ image_index, image_filename,
 * question, answer, question_family_index }] }`.
 *
 * ```ts
 * const { samples } = await readClevr({ questionsFile: 'questions/CLEVR_val_questions.json', imageDir: 'images/val' });
 * ```
 */
export async function readClevr(
  options: ReadClevrOptions,
): Promise<{ samples: ClevrSample[]; report: SkipReport }> {
  const file = options.questionsFile;
  const report = options.report ?? new SkipReport();
  const json = await readJsonFile(READER, file);
  const questions = field<unknown[]>(READER, file, 'root', json, 'questions', 'array');
  report.total += questions.length;
  const samples: ClevrSample[] = [];
  questions.forEach((q, i) => {
    const path = `questions[${i}]`;
    const name = field<string>(READER, file, path, q, 'image_filename', 'string');
    const where = confinedPath(options.imageDir, name);
    const imagePath = 'path' in where ? where.path : name;
    const question = field<string>(READER, file, path, q, 'question', 'string');
    const problem =
      'problem' in where
        ? `image_filename ${JSON.stringify(name)}: ${where.problem}`
        : question.trim() === ''
          ? 'empty question text'
          : !existsSync(imagePath)
            ? 'image not found'
            : null;
    if (problem) {
      if (problem.startsWith('empty')) report.empty += 1;
      if ((options.onError ?? 'throw') === 'throw')
        throw new DatasetError(READER, file, `${path}: ${imagePath}: ${problem}`);
      report.skip(imagePath, problem);
      return;
    }
    samples.push({
      imageIndex: field<number>(READER, file, path, q, 'image_index', 'number'),
      imagePath,
      question,
      answer: optionalField<string>(READER, file, path, q, 'answer', 'string'),
      questionFamilyIndex: optionalField<number>(READER, file, path, q, 'question_family_index', 'number'),
    });
  });
  return { samples, report };
}
