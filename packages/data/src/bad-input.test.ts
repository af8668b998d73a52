/**
 * The reliability catalogue (docs/reliability.md): public data functions that take a file, a size
 * or user text refuse bad values with typed errors naming the function and argument.
 */
import { ArgumentError, Generator } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { AnswerVocab } from './datasets/answer-vocab.js';
import { sampleScene } from './generator/scene.js';
import { decodeImage, decodeImageJs } from './image/decode-image.js';
import { ImageProcessor } from './image/image-processor.js';
import { createImage } from './image/rgb-image.js';
import { WordPieceTokenizer } from './text/wordpiece-tokenizer.js';

const any = <T>(v: unknown) => v as T;

describe('bad arguments get typed errors', () => {
  it('images: bytes that are not bytes, a config that is not JSON, a size that is not a size', async () => {
    await expect(decodeImage(any(undefined))).rejects.toThrow(
      new ArgumentError('decodeImage', 'bytes must be a Uint8Array (or Buffer), got undefined'),
    );
    expect(() => decodeImageJs(any('abc'))).toThrow(/decodeImageJs: bytes must be a Uint8Array/);
    expect(() => ImageProcessor.fromConfig('{"size": ')).toThrow(
      /ImageProcessor\.fromConfig: not valid JSON/,
    );
    expect(() => ImageProcessor.fromConfig(any(undefined))).toThrow(
      /expected preprocessor_config\.json text or its object, got undefined/,
    );
    expect(() => ImageProcessor.fromConfig('[1]')).toThrow(/got an array/);
    expect(() => createImage(-1, 2)).toThrow(
      new ArgumentError('createImage', 'size must be positive integers, got -1×2'),
    );
    expect(() => createImage(2.5, 2)).toThrow(ArgumentError);
    expect(() => sampleScene(new Generator(1), { size: -5 })).toThrow(
      /sampleScene: size must be an integer ≥ 8/,
    );
  });

  it('a tokenizer built from something that is not a vocabulary', () => {
    expect(() => new WordPieceTokenizer(any(undefined))).toThrow(
      /WordPieceTokenizer: vocab must be an array of tokens or a Map of token → id, got undefined/,
    );
    expect(() => new WordPieceTokenizer(any('[PAD]\n[UNK]'))).toThrow(/got a string/);
  });

  it('an answer vocabulary with a topK or minCount that is not a count', () => {
    // slice(0, -1) silently dropped the last answer before.
    expect(() => AnswerVocab.build(['a', 'b'], { topK: -1 })).toThrow(
      new ArgumentError('AnswerVocab.build', 'topK must be a positive integer, got -1'),
    );
    expect(() => AnswerVocab.build(['a'], { minCount: 0.5 })).toThrow(/minCount must be a positive integer/);
    expect(AnswerVocab.build(['a', 'b', 'b'], { topK: 1 }).answers).toEqual(['[UNK]', 'b']);
  });
});
