/** The test codec module (`test-codec.mjs`), runnable in every host. */
export const TEST_CODEC = {
  name: 'test-codec',
  module: new URL('./test-codec.mjs', import.meta.url).href,
} as const;

// Shared with the engine's own tests and the Node hosts: one builder, one collector, one clock.
export { nodeClock } from '../node-host';
export { pipelineOf as pipeline, addCollector } from '@patchbay/engine';

/** Resolves once `check()` holds, polling on a timer (no time limit here: the test's own timeout applies). */
export async function until(check: () => boolean, everyMs = 5): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, everyMs));
}

/** True while a process with this pid exists (signal 0 only checks). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
