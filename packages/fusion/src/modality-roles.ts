import { ArgumentError } from '@polymodal/tensor';

/** Which modality a conditioning strategy works on, and which modalities condition it. */
export interface ModalityRoles {
  /** The modality whose features are processed (modulated, paired). */
  subject: string;
  /** The conditioning modalities, sorted; pooled and concatenated in this order. */
  conditions: string[];
}

/**
 * Resolves the roles of a strategy where one modality (the subject: e.g. image cells) is processed
 * under the condition of the others (e.g. the question). The subject defaults to `'image'` when
 * there is such a modality; the conditions default to every other modality. Every modality must
 * have exactly one role. Throws `ArgumentError` naming the option otherwise.
 *
 * ```ts
 * resolveRoles('FiLMFusion', ['image', 'text'], 'target', undefined, 'condition', undefined);
 * // { subject: 'image', conditions: ['text'] }
 * ```
 */
export function resolveRoles(
  op: string,
  modalities: readonly string[],
  subjectOption: string,
  subject: string | undefined,
  conditionOption: string,
  condition: string | readonly string[] | undefined,
): ModalityRoles {
  const known = `{${modalities.join(', ')}}`;
  const s = subject ?? (modalities.includes('image') ? 'image' : undefined);
  if (s === undefined) {
    throw new ArgumentError(
      op,
      `${subjectOption} must name one of the modalities ${known} (there is no 'image')`,
    );
  }
  if (!modalities.includes(s)) {
    throw new ArgumentError(op, `${subjectOption} '${s}' must be one of the modalities ${known}`);
  }
  const given = condition === undefined ? null : typeof condition === 'string' ? [condition] : [...condition];
  const conditions = (given ?? modalities.filter((m) => m !== s)).slice().sort();
  for (const c of conditions) {
    if (!modalities.includes(c)) {
      throw new ArgumentError(op, `${conditionOption} '${c}' must be one of the modalities ${known}`);
    }
    if (c === s) throw new ArgumentError(op, `'${s}' cannot be both ${subjectOption} and ${conditionOption}`);
  }
  if (conditions.length === 0 || new Set(conditions).size !== conditions.length) {
    throw new ArgumentError(
      op,
      `${conditionOption} must name one or more distinct modalities other than '${s}'`,
    );
  }
  const unused = modalities.filter((m) => m !== s && !conditions.includes(m));
  if (unused.length) {
    throw new ArgumentError(
      op,
      `modality ${unused.map((m) => `'${m}'`).join(', ')} is neither ${subjectOption} nor ${conditionOption}`,
    );
  }
  return { subject: s, conditions };
}
