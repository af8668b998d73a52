import type { Module } from '@polymodal/nn';
import { loadSafetensors, saveSafetensors } from '@polymodal/nn/node';
import { loadLoraStateDict, loraLayers, loraStateDict } from './apply-lora.js';

/**
 * Saves only the LoRA adapters of `model` as a safetensors file (Node only), with the ranks and
 * alphas in the metadata.
 *
 * ```ts
 * await saveLoraAdapter('adapter-task-a.safetensors', model);
 * ```
 */
export async function saveLoraAdapter(
  path: string,
  model: Module,
  metadata: Record<string, string> = {},
): Promise<void> {
  const layers = loraLayers(model).map(([name, l]) => ({ name, rank: l.rank, alpha: l.alpha }));
  await saveSafetensors(path, loraStateDict(model), {
    ...metadata,
    format: 'polymodal-lora',
    layers: JSON.stringify(layers),
  });
}

/**
 * Loads adapters saved by `saveLoraAdapter` into a model with the same LoRA layers (the base
 * weights are untouched), so one base model can switch between tasks.
 *
 * ```ts
 * await loadLoraAdapter('adapter-task-b.safetensors', model);
 * ```
 */
export async function loadLoraAdapter(path: string, model: Module): Promise<void> {
  const tensors = await loadSafetensors(path);
  try {
    loadLoraStateDict(model, tensors);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
