/**
 * @polymodal/nn/node: the Node-only part of @polymodal/nn — safetensors files on disk (atomic
 * saves, loads naming the file). Browsers read safetensors with `loadSafetensorsFrom` /
 * `fetchSafetensors` / `loadModuleFrom` from `@polymodal/nn`.
 *
 * ```ts
 * import { loadModule, saveModule } from '@polymodal/nn/node';
 * await saveModule('vit.safetensors', vit);
 * ```
 */
export { loadModule, loadSafetensors, saveModule, saveSafetensors } from './safetensors-file.js';
