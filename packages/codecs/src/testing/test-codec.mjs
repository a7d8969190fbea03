// @ts-check
/**
 * A codec that misbehaves on demand, for the host contract suite and the C1–C5 tests. It runs in
 * any host. `init.mode`:
 *   echo            every frame back, unchanged (a copy)
 *   lag             nothing until flush, then every frame (an encoder's lookahead, exaggerated)
 *   spin            an endless JS loop on frame `at` (a wedged JS/WASM codec)
 *   block           Atomics.wait forever on frame `at` (stands in for a blocking native call)
 *   stall_flush     echoes, then its flush never settles (idle, not busy: still stuck)
 *   hold            on frame `at` sets flag[1], busy-loops until the test sets flag[0], sets flag[2]
 *   throw           throws on frame `at`
 *   throw_uncaught  throws from a microtask queued on frame `at` (nobody catches it)
 *   exit            process.exit(3) on frame `at`
 *   slow_beating    each frame busy-works `workMs`, calling env.beat() every few ms
 *   start_throw     create() throws
 */

/**
 * @param {any} init
 * @param {import('../codec-host').CodecEnv} env
 * @returns {import('../codec-host').CodecInstance}
 */
export function create(init, env) {
  const mode = String(init?.mode ?? 'echo');
  const at = Number(init?.at ?? 0);
  if (mode === 'start_throw') throw new Error('test codec refused to start');
  let index = 0;
  /** @type {import('../codec-host').CodecFrame[]} */
  const held = [];

  /** @param {import('../codec-host').CodecFrame} frame */
  const copy = (frame) => ({ ...frame, data: frame.data.slice() });

  return {
    info: { mode, pid: process.pid },
    process(frame) {
      const i = index++;
      if (i === at) misbehave(mode, init, env);
      if (mode === 'slow_beating') busyWork(Number(init.workMs ?? 100), env);
      if (mode === 'lag') {
        held.push(copy(frame));
        return [];
      }
      return [copy(frame)];
    },
    async flush() {
      if (mode === 'stall_flush') await new Promise(() => {});
      return held.splice(0);
    },
  };
}

/** @param {string} mode @param {any} init @param {import('../codec-host').CodecEnv} env */
function misbehave(mode, init, env) {
  switch (mode) {
    case 'spin':
      // One beat first, so a test can see the wedge has begun.
      env.beat();
      for (;;) {
        // wedged
      }
    case 'block':
      env.beat();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return;
    case 'hold': {
      const flag = new Int32Array(init.flag);
      Atomics.store(flag, 1, 1);
      while (Atomics.load(flag, 0) === 0) {
        // busy on purpose: the thread is occupied, not parked
      }
      Atomics.store(flag, 2, 1);
      env.beat();
      return;
    }
    case 'throw':
      throw new Error('test codec exploded');
    case 'throw_uncaught':
      // Thrown outside the runtime's try/catch, before the next message is handled.
      queueMicrotask(() => {
        throw new Error('uncaught test codec error');
      });
      return;
    case 'exit':
      process.exit(3);
  }
}

/** @param {number} ms @param {import('../codec-host').CodecEnv} env */
function busyWork(ms, env) {
  const end = performance.now() + ms;
  let lastBeat = 0;
  while (performance.now() < end) {
    const now = performance.now();
    if (now - lastBeat >= 5) {
      lastBeat = now;
      env.beat();
    }
  }
}
