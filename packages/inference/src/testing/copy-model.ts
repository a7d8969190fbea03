import { readFile } from 'node:fs/promises';
import type { FileStore } from '@patchbay/engine';
import { ensureModel } from '../fixtures/planted-model';
import type { PlantedPreset } from '../fixtures/planted-model';

/** Puts the generated model into a file store's data directory (for end-to-end tests). */
export async function copyModelInto(
  store: FileStore,
  relativePath: string,
  preset: PlantedPreset = 'tiny',
): Promise<void> {
  const bytes = await readFile(await ensureModel(preset));
  const r = await store.write(relativePath, bytes);
  if (!r.ok) throw new Error(`copyModelInto: ${r.error.message}`);
}
