/**
 * Writes a planted-bigram GGUF model to a file:
 *   npx tsx packages/inference/scripts/generate-model.ts <tiny|bench> <out.gguf>
 */
import { resolve } from 'node:path';
import { PLANTED_PRESETS, writePlantedModel } from '../src/fixtures/planted-model';
import type { PlantedPreset } from '../src/fixtures/planted-model';

const [preset, out] = process.argv.slice(2);
if (!preset || !out || !(preset in PLANTED_PRESETS)) {
  const names = Object.keys(PLANTED_PRESETS).join('|');
  process.stderr.write(`usage: generate-model.ts <${names}> <out.gguf>\n`);
  process.exit(2);
}
const path = resolve(out);
writePlantedModel(preset as PlantedPreset, path).then(
  () => process.stdout.write(`${path}\n`),
  (e: unknown) => {
    process.stderr.write(`generate-model: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
