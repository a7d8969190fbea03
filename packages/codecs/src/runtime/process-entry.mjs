// @ts-check
/**
 * Entry of a codec child process (ProcessCodecHost). Memory is not shared across processes, so
 * liveness travels as `beat` messages, throttled: a codec may call `env.beat()` in a tight loop.
 */
import { serveCodec } from './codec-runtime.mjs';

const BEAT_EVERY_MS = 20;
let lastBeat = 0;

/** @param {object} msg */
function send(msg) {
  // The parent may already be gone (it killed us, or died): nothing left to tell.
  if (!process.connected || !process.send) return;
  try {
    process.send(msg);
  } catch {
    /* channel closed */
  }
}

serveCodec({
  post: (msg) => send(msg),
  listen: (fn) => process.on('message', fn),
  beat: () => {
    const now = performance.now();
    if (now - lastBeat < BEAT_EVERY_MS) return;
    lastBeat = now;
    send({ type: 'beat' });
  },
});

// An orphaned codec process ends with its parent instead of lingering.
process.on('disconnect', () => process.exit(0));
