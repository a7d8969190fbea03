/** The real Opus encoder and decoder nodes (@evan/opus, WASM build, in worker threads). */
import { describe, expect, it } from 'vitest';
import { defineNode, runOneshot } from '@patchbay/engine';
import type { AudioPacket, OpusPacket, Packet } from '@patchbay/engine';
import { z } from 'zod';
import type { CodecHost } from '../codec-host';
import { createCodecRegistry } from '../register';
import { addCollector, nodeClock, pipeline } from '../testing/helpers';
import { WorkerCodecHost } from '../worker-codec-host';
import { opusPacketSamples } from './opus-packet';

const clock = nodeClock();

/** Interleaved samples of every audio packet, in order. */
function samplesOf(packets: Packet[]): Float32Array {
  const audio = packets.filter((p): p is AudioPacket => p.type === 'audio');
  const out = new Float32Array(audio.reduce((n, p) => n + p.samples.length, 0));
  let at = 0;
  for (const p of audio) {
    out.set(p.samples, at);
    at += p.samples.length;
  }
  return out;
}

/** One channel of interleaved samples. */
function channel(samples: Float32Array, channels: number, c: number): Float32Array {
  return samples.filter((_, i) => i % channels === c);
}

/**
 * The delay (in samples) at which `decoded` best matches `ref`: the lag with the highest SNR.
 * (Plain cross-correlation cannot tell a sine's periods apart; the onset and the end can.)
 */
function bestLag(ref: Float32Array, decoded: Float32Array, maxLag: number): number {
  let best = 0;
  let bestSnr = -Infinity;
  for (let lag = 0; lag <= maxLag; lag++) {
    const snr = snrDb(ref, decoded, lag);
    if (snr > bestSnr) {
      bestSnr = snr;
      best = lag;
    }
  }
  return best;
}

/** SNR in dB of `decoded` (delayed by `lag`) against `ref`, over every reference sample. */
function snrDb(ref: Float32Array, decoded: Float32Array, lag: number): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = decoded[i + lag] ?? 0;
    signal += ref[i]! ** 2;
    noise += (ref[i]! - d) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

/** tone → ref, and tone → opus encoder → opus decoder → out. */
async function roundTrip(opts: {
  application?: string;
  channels?: number;
  durationMs?: number;
  source?: string;
}) {
  const registry = createCodecRegistry();
  const ref = addCollector(registry, 'test::ref');
  const out = addCollector(registry, 'test::out');
  const encoded = addCollector(registry, 'test::encoded');
  registry.register(oddChunks);
  const channels = opts.channels ?? 1;
  const source: [string, string, Record<string, unknown>] =
    opts.source === 'odd'
      ? ['tone', 'test::odd_chunks', {}]
      : [
          'tone',
          'audio::sine',
          { frequency_hz: 440, duration_ms: opts.durationMs ?? 1000, amplitude: 0.5, channels },
        ];
  const r = await runOneshot(
    pipeline(
      [
        source,
        ['ref', 'test::ref'],
        [
          'enc',
          'audio::opus::encoder',
          { bitrate: 64_000, application: opts.application ?? 'audio', channels },
        ],
        ['dec', 'audio::opus::decoder', { channels }],
        ['out', 'test::out'],
        ['bits', 'test::encoded'],
      ],
      ['tone>ref', 'tone>enc', 'enc>dec', 'dec>out', 'enc>bits'],
    ),
    { registry, clock },
  );
  return { r, ref: samplesOf(ref), decoded: samplesOf(out), packets: encoded as OpusPacket[] };
}

/** One second of a 440 Hz sine at 48 kHz mono, in packets of 700 samples (not 20 ms). */
const oddChunks = defineNode({
  kind: 'test::odd_chunks',
  description: 'a sine in 700-sample packets',
  params: z.object({}),
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'raw_audio' }] }),
  create: () => ({
    async run(ctx) {
      const total = 48_000;
      for (let at = 0; at < total; at += 700) {
        const n = Math.min(700, total - at);
        const samples = Float32Array.from(
          { length: n },
          (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * (at + i)) / 48_000),
        );
        await ctx.send('out', {
          type: 'audio',
          sampleRate: 48_000,
          channels: 1,
          samples,
          ptsUs: Math.round((at * 1e6) / 48_000),
        });
      }
      return 'completed';
    },
  }),
});

describe('audio::opus::encoder → audio::opus::decoder', () => {
  for (const [application, lookahead] of [
    ['audio', 312],
    ['lowdelay', 120],
  ] as const) {
    it(`[C5] a sine round trip (${application}) has SNR ≥ 30 dB once aligned by the encoder's lookahead (${lookahead})`, async () => {
      const { r, ref, decoded } = await roundTrip({ application });
      expect(r.ok).toBe(true);
      expect(r.states.enc).toEqual({ status: 'stopped', reason: 'input_closed' });
      expect(r.states.dec).toEqual({ status: 'stopped', reason: 'input_closed' });
      expect(ref.length).toBe(48_000);
      // The decoder drops the end padding (the last packet's durationUs): exactly pre-skip + input.
      expect(decoded.length).toBe(48_000 + lookahead);
      // The pre-skip a player applies (the encoder's lookahead) is exactly where the match is best.
      expect(bestLag(ref, decoded, 1_000)).toBe(lookahead);
      expect(snrDb(ref, decoded, lookahead)).toBeGreaterThanOrEqual(30);
    });
  }

  it('voip (SILK) round trips too; its own filter delay puts the best match a few samples off the pre-skip', async () => {
    const { r, ref, decoded } = await roundTrip({ application: 'voip' });
    expect(r.ok).toBe(true);
    expect(decoded.length).toBe(48_000 + 312);
    const lag = bestLag(ref, decoded, 1_000);
    expect(Math.abs(lag - 312)).toBeLessThanOrEqual(4);
    expect(snrDb(ref, decoded, lag)).toBeGreaterThanOrEqual(30);
  });

  it('input in packets of any length is re-chunked into 20 ms Opus frames with no sample lost', async () => {
    const { r, ref, decoded, packets } = await roundTrip({ source: 'odd' });
    expect(r.ok).toBe(true);
    // 48 000 input samples + 312 lookahead, in 960-sample frames.
    expect(packets).toHaveLength(Math.ceil((48_000 + 312) / 960));
    expect(packets.every((p) => opusPacketSamples(p.data) === 960)).toBe(true);
    expect(packets.map((p) => p.ptsUs)).toEqual(packets.map((_, i) => i * 20_000));
    expect(packets.slice(0, -1).every((p) => p.durationUs === 20_000)).toBe(true);
    // The last packet carries 312 real samples (6.5 ms); the rest of it is padding.
    expect(packets.at(-1)!.durationUs).toBe(6_500);
    expect(snrDb(ref, decoded, 312)).toBeGreaterThanOrEqual(30);
  });

  it('stereo round trips with both channels intact', async () => {
    const { r, ref, decoded } = await roundTrip({ channels: 2, durationMs: 500 });
    expect(r.ok).toBe(true);
    for (const c of [0, 1])
      expect(snrDb(channel(ref, 2, c), channel(decoded, 2, c), 312)).toBeGreaterThanOrEqual(30);
  });

  it('the bitrate param is honoured: 128 kbit/s spends more bytes than 16 kbit/s on the same audio', async () => {
    const bytes: number[] = [];
    for (const bitrate of [16_000, 128_000]) {
      const registry = createCodecRegistry();
      const got = addCollector(registry);
      const r = await runOneshot(
        pipeline(
          [
            ['tone', 'audio::sine', { duration_ms: 1000, frequency_hz: 3000 }],
            ['enc', 'audio::opus::encoder', { bitrate }],
            ['c', 'test::collect'],
          ],
          ['tone>enc', 'enc>c'],
        ),
        { registry, clock },
      );
      expect(r.ok).toBe(true);
      bytes.push((got as OpusPacket[]).reduce((n, p) => n + p.data.length, 0));
    }
    expect(bytes[1]!).toBeGreaterThan(bytes[0]! * 2);
  });

  it('[C5] a 44.1 kHz input fails the encoder clearly (no resampling) and the run is an error', async () => {
    const registry = createCodecRegistry();
    addCollector(registry);
    const r = await runOneshot(
      pipeline(
        [
          ['tone', 'audio::sine', { duration_ms: 200, sample_rate: 44_100 }],
          ['enc', 'audio::opus::encoder'],
          ['c', 'test::collect'],
        ],
        ['tone>enc', 'enc>c'],
      ),
      { registry, clock },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failed).toEqual([
      {
        node: 'enc',
        reason:
          'node enc (audio::opus::encoder): input rejected (input is 44100 Hz; the Opus encoder takes 48000 Hz only ' +
          '(resampling is out of scope)) after 0 output frames; output truncated',
      },
    ]);
  });

  it('[C5] a channel count other than params.channels fails the encoder clearly', async () => {
    const registry = createCodecRegistry();
    addCollector(registry);
    const r = await runOneshot(
      pipeline(
        [
          ['tone', 'audio::sine', { duration_ms: 100, channels: 2 }],
          ['enc', 'audio::opus::encoder'],
          ['c', 'test::collect'],
        ],
        ['tone>enc', 'enc>c'],
      ),
      { registry, clock },
    );
    expect(r.ok ? '' : r.failed[0]!.reason).toMatch(
      /input has 2 channels; the encoder was set up for 1 \(params.channels\).*output truncated$/,
    );
  });

  it('the encoder is created and warmed while initializing, before the pipeline goes live', async () => {
    const log: string[] = [];
    const registry = createCodecRegistry({
      createHost: (_kind, nodeId) => {
        const host: CodecHost = new WorkerCodecHost();
        const start = host.start.bind(host);
        host.start = async (spec, init) => {
          const r = await start(spec, init);
          log.push(`${nodeId} codec ready (lookahead ${r.ok ? r.value.lookahead : '?'})`);
          return r;
        };
        return host;
      },
    });
    addCollector(registry);
    const r = await runOneshot(
      pipeline(
        [
          ['tone', 'audio::sine', { duration_ms: 100 }],
          ['enc', 'audio::opus::encoder'],
          ['c', 'test::collect'],
        ],
        ['tone>enc', 'enc>c'],
      ),
      {
        registry,
        clock,
        onState: (node, state) => log.push(`${node} ${state.status}`),
      },
    );
    expect(r.ok).toBe(true);
    const ready = log.indexOf('enc codec ready (lookahead 312)');
    expect(ready).toBeGreaterThan(log.indexOf('enc initializing'));
    expect(ready).toBeLessThan(log.indexOf('enc running'));
    expect(ready).toBeLessThan(log.indexOf('tone running'));
  });
});
