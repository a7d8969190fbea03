/**
 * Benchmark 1 — Opus encode through the codec node vs the raw library, in the same run.
 * 60 s of a 440 Hz mono sine at 48 kHz, 64 kbit/s, 20 ms frames, unpaced:
 * - node: a oneshot pipeline audio::sine → audio::opus::encoder → core::sink (the encoder runs
 *   @evan/opus's WASM build in a worker thread; sine and sink run on the main thread, in parallel);
 * - raw: the same float frames converted to s16 and encoded on the main thread, with the WASM
 *   build (what the node runs) and with the native addon (the library's default on this platform,
 *   which the node cannot use: see packages/codecs/README.md).
 * The three are measured in turns, 5 rounds, and each reports its best round (on a shared
 * 2-core machine, load from elsewhere drifts; taking turns exposes each to the same drift).
 * `ratio` = node ÷ raw WASM (the cost of the node machinery, same codec);
 * `ratio_vs_native` = node ÷ raw native. Node figures start when the pipeline goes live (the
 * encoder is created and warmed before that, by design); `node_x_realtime_incl_startup` counts
 * the worker's start too. Prints one JSON line.
 */
import { createRequire } from 'node:module';
import { runOneshot } from '@patchbay/engine';
import type { Pipeline } from '@patchbay/protocol';
import { createCodecRegistry } from '@patchbay/codecs';
import { nodeClock, round } from './node-clock';

const AUDIO_S = 60;
const RATE = 48_000;
const FRAME = 960;
const FRAMES = (AUDIO_S * RATE) / FRAME;
const BITRATE = 64_000;
const RUNS = 5;
const OPUS_SET_BITRATE = 4002;

interface RawEncoder {
  encode(pcm: Int16Array): Uint8Array;
  ctl(cmd: number, arg?: number): number;
}

/** The same samples audio::sine makes (0.5 amplitude), as 20 ms float frames. */
const floatFrames = Array.from({ length: FRAMES }, (_, f) =>
  Float32Array.from(
    { length: FRAME },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * (f * FRAME + i)) / RATE),
  ),
);

/** Seconds to convert and encode every frame with `encoder` on this thread. */
function rawSeconds(encoder: RawEncoder): number {
  const pcm = new Int16Array(FRAME);
  const t0 = performance.now();
  for (const frame of floatFrames) {
    for (let i = 0; i < FRAME; i++) {
      const v = frame[i]! * 32768;
      pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    encoder.encode(pcm);
  }
  return (performance.now() - t0) / 1000;
}

function rawRun(make: () => RawEncoder): number {
  const encoder = make();
  encoder.ctl(OPUS_SET_BITRATE, BITRATE);
  return rawSeconds(encoder);
}

const pipeline: Pipeline = {
  mode: 'oneshot',
  nodes: {
    tone: { kind: 'audio::sine', params: { frequency_hz: 440, duration_ms: AUDIO_S * 1000 } },
    enc: { kind: 'audio::opus::encoder', params: { bitrate: BITRATE } },
    sink: { kind: 'core::sink', params: {} },
  },
  connections: {
    a: { from: { node: 'tone', pin: 'out' }, to: { node: 'enc', pin: 'in' }, mode: 'reliable' },
    b: { from: { node: 'enc', pin: 'out' }, to: { node: 'sink', pin: 'in' }, mode: 'reliable' },
  },
};

/** One node run: seconds from going live to the encoder's end, and from the start of the run. */
async function nodeRun(): Promise<{ live: number; total: number; packets: number }> {
  const registry = createCodecRegistry();
  const t0 = performance.now();
  let liveAt = 0;
  let endAt = 0;
  const r = await runOneshot(pipeline, {
    registry,
    clock: nodeClock(),
    onState: (node, state) => {
      if (node === 'tone' && state.status === 'running') liveAt = performance.now();
      if (node === 'enc' && state.status === 'stopped') endAt = performance.now();
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.failed ?? r.problems));
  return {
    live: (endAt - liveAt) / 1000,
    total: (endAt - t0) / 1000,
    packets: r.stats.sink?.packets ?? 0,
  };
}

type EncoderClass = new (o: {
  channels: number;
  sample_rate: number;
  application: string;
}) => RawEncoder;
const require = createRequire(import.meta.url);
const native = (require('@evan/opus') as { Encoder: EncoderClass }).Encoder;
const wasm = (require('@evan/opus/wasm/index.js') as { Encoder: EncoderClass }).Encoder;
let rawNative = Infinity;
let rawWasm = Infinity;
let node = { live: Infinity, total: Infinity, packets: 0 };
for (let r = 0; r < RUNS; r++) {
  rawNative = Math.min(
    rawNative,
    rawRun(() => new native({ channels: 1, sample_rate: RATE, application: 'audio' })),
  );
  rawWasm = Math.min(
    rawWasm,
    rawRun(() => new wasm({ channels: 1, sample_rate: RATE, application: 'audio' })),
  );
  const run = await nodeRun();
  if (run.live < node.live) node = run;
}
if (node.packets !== Math.ceil((FRAMES * FRAME + 312) / FRAME))
  throw new Error(`the node made ${node.packets} packets`);

const xrt = (seconds: number) => round(AUDIO_S / seconds, 1);
console.log(
  JSON.stringify({
    bench: 'opus-encode',
    audio_s: AUDIO_S,
    frames: FRAMES,
    bitrate: BITRATE,
    node_x_realtime: xrt(node.live),
    node_x_realtime_incl_startup: xrt(node.total),
    node_us_per_frame: round((node.live * 1e6) / FRAMES, 1),
    raw_wasm_x_realtime: xrt(rawWasm),
    raw_native_x_realtime: xrt(rawNative),
    ratio: round(rawWasm / node.live, 3),
    ratio_vs_native: round(rawNative / node.live, 3),
    target_ratio: 0.8,
    node_host: 'worker (WASM build)',
    runs: RUNS,
    node: process.version,
  }),
);
