// Stress check for the two-thread WASM compositor kernel (not a speed benchmark): renders random
// scenes of varying sizes with the one-thread and the two-thread kernel, frame after frame, and
// compares every output byte for byte. Varying output heights give each frame a different band
// count, and back-to-back small frames make the worker fall behind the caller, the conditions
// under which a worker could take a band of a frame with a stale job. Run it with other load on
// the machine to make the worker lose its core at awkward moments.
// `WASM2_STRESS_FRAMES` sets the number of frames (default 20000). Prints one JSON line; exits
// non-zero if any frame differed or the kernel fell back to one thread.
import { performance } from 'node:perf_hooks';
import { createWasmKernel } from '../packages/engine/src/nodes/video/compositor/kernels/wasm-kernel';
import { createWasm2Kernel } from '../packages/engine/src/nodes/video/compositor/kernels/wasm2-kernel';
import { randomScene, render } from '../packages/engine/src/nodes/video/compositor/testing/scenes';
import type { Scene } from '../packages/engine/src/nodes/video/compositor/testing/scenes';
import { nodeClock } from './node-clock';
import { nodeWorkerSpawner } from '@patchbay/codecs';

const FRAMES = Number(process.env.WASM2_STRESS_FRAMES ?? 20_000);
const SCENES = 60;

const one = await createWasmKernel();
const two = await createWasm2Kernel(nodeWorkerSpawner(), { clock: nodeClock() });
const scenes: { scene: Scene; expected: Uint8Array; where: string }[] = [];
for (let seed = 1; seed <= SCENES; seed++) {
  for (const [filter, translucentBackground] of [
    ['bilinear', false],
    ['nearest', false],
    ['bilinear', true],
  ] as const) {
    const scene = randomScene(seed, filter, { translucentBackground });
    const where = `seed ${seed} (${filter}${translucentBackground ? ', translucent' : ''})`;
    scenes.push({ scene, expected: render(one, scene), where });
  }
}
one.dispose();

/** Up to 6 differing pixels as (x,y); `['length']` when the sizes differ. */
function differingPixels(actual: Uint8Array, expected: Uint8Array, width: number): string[] {
  if (actual.length !== expected.length) return ['length'];
  const wrong: string[] = [];
  for (let j = 0; j < actual.length && wrong.length < 6; j++) {
    if (actual[j] === expected[j]) continue;
    const p = j >> 2;
    wrong.push(`(${p % width},${Math.floor(p / width)})`);
    j = (p << 2) + 3;
  }
  return wrong;
}

let mismatches = 0;
const failed: string[] = [];
const t0 = performance.now();
for (let i = 0; i < FRAMES; i++) {
  const { scene, expected, where } = scenes[i % scenes.length]!;
  const actual = render(two, scene);
  const wrong = differingPixels(actual, expected, scene.job.width);
  if (wrong.length > 0) {
    mismatches++;
    if (failed.length < 10) failed.push(`frame ${i}: ${where}, pixels ${wrong.join(' ')}`);
  }
}
const seconds = (performance.now() - t0) / 1000;
const result = {
  bench: 'wasm2-stress',
  frames: FRAMES,
  mismatches,
  failed,
  threads: two.threads,
  worker_bands: two.workerBands,
  degraded: two.degradedReason ?? null,
  seconds: Math.round(seconds * 100) / 100,
};
two.dispose();
console.log(JSON.stringify(result));
process.exitCode = mismatches > 0 || result.threads !== 2 ? 1 : 0;
