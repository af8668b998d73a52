import { createProgress } from './progress-bar.js';
import {
  ProgressCallback as PortableProgressCallback,
  type ProgressCallbackOptions,
} from './progress-callback.js';

/**
 * `ProgressCallback` with the terminal bar (Node): 'auto' draws a bar when stdout is a TTY.
 *
 * ```ts
 * new Trainer({ …, progress: 'none', callbacks: [new ProgressCallback({ mode: 'bar' })] });
 * ```
 */
export class ProgressCallback extends PortableProgressCallback {
  constructor(options: ProgressCallbackOptions = {}) {
    super({ createReporter: createProgress, ...options });
  }
}
