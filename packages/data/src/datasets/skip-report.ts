/** What to do with a bad item: throw a typed error (default) or skip it and count it. */
export type OnError = 'throw' | 'skip';

/**
 * Counts items skipped under `onError: 'skip'`, texts truncated and answers mapped to `[UNK]`, and
 * prints them as one line: `"skipped 3 of 10,000: COCO_val2014_000000000042.jpg: …; …"`.
 *
 * ```ts
 * const report = new SkipReport();
 * const { samples } = await readVqaV2({ root, split: 'val2014', onError: 'skip', report });
 * console.log(report.summary());
 * ```
 */
export class SkipReport {
  total = 0;
  readonly skipped: { item: string; reason: string }[] = [];
  truncated = 0;
  empty = 0;
  unknownAnswers = 0;

  skip(item: string, reason: string): void {
    this.skipped.push({ item, reason });
  }

  /** One line for logs; lists at most `maxItems` skipped items. */
  summary(maxItems = 5): string {
    const fmt = (n: number) => n.toLocaleString('en-US');
    const parts = [`skipped ${fmt(this.skipped.length)} of ${fmt(this.total)}`];
    if (this.skipped.length > 0) {
      const shown = this.skipped.slice(0, maxItems).map((s) => `${s.item}: ${s.reason}`);
      if (this.skipped.length > maxItems) shown.push(`… ${fmt(this.skipped.length - maxItems)} more`);
      parts[0] += `: ${shown.join('; ')}`;
    }
    if (this.truncated) parts.push(`truncated ${fmt(this.truncated)} over-long texts`);
    if (this.empty) parts.push(`${fmt(this.empty)} empty texts`);
    if (this.unknownAnswers) parts.push(`${fmt(this.unknownAnswers)} answers mapped to [UNK]`);
    return parts.join('; ');
  }
}
