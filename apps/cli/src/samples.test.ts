import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCodecRegistry } from '@patchbay/codecs';
import { exportPipelineYaml, importPipelineYaml } from '@patchbay/protocol';

const SAMPLES = resolve(import.meta.dirname, '..', '..', '..', 'samples');

describe('samples/', () => {
  for (const file of readdirSync(SAMPLES).filter((f) => f.endsWith('.yml'))) {
    it(`${file} validates against the registry and round-trips through export`, () => {
      const registry = createCodecRegistry();
      const r = importPipelineYaml(readFileSync(join(SAMPLES, file), 'utf8'), registry);
      if (!r.ok) throw new Error(r.error.map((p) => p.message).join('\n'));
      const again = importPipelineYaml(exportPipelineYaml(r.value), registry);
      expect(again.ok && again.value).toEqual(r.value);
    });
  }
});
