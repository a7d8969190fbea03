import { z } from 'zod';
import { defineNode } from '../../node-api';
import type { AudioPacket } from '../../packets';
import { AUDIO_FRAME_MS, samplesPerFrame } from './audio-frames';

export const MixerParamsSchema = z.object({
  /** Accepted for StreamKit pipelines; pins are made on connect (`in_0`, `in_1`, …) either way. */
  num_inputs: z.number().int().min(0).max(64).optional(),
  /** Per-pin linear gain, e.g. `{ in_1: 0.5 }`; unlisted pins mix at 1. */
  gains: z.record(z.string(), z.number().min(0).max(64)).default({}),
  /** Master gain after summing. */
  gain: z.number().min(0).max(64).default(1),
});

interface Lane {
  chunks: Float32Array[];
  offset: number;
  available: number;
  closed: boolean;
}

/**
 * Sums any number of raw audio inputs sample-aligned. It emits a 20 ms frame when every open
 * input has one queued, so a late input delays the mix rather than being dropped; a closed
 * input leaves the mix. Output is clipped to [-1, 1].
 */
export const mixerNode = defineNode({
  kind: 'audio::mixer',
  description: 'Mixes raw audio inputs (pins in_0, in_1, … made on connect).',
  params: MixerParamsSchema,
  pins: () => ({
    inputs: [{ name: 'in_', type: 'raw_audio', family: true }],
    outputs: [{ name: 'out', type: 'raw_audio' }],
  }),
  create: () => ({
    async run(ctx) {
      const lanes = new Map<string, Lane>();
      let format: { sampleRate: number; channels: number } | undefined;
      let ptsUs = 0;
      const lane = (pin: string): Lane => {
        let l = lanes.get(pin);
        if (!l) lanes.set(pin, (l = { chunks: [], offset: 0, available: 0, closed: false }));
        return l;
      };
      for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
        if (ev.type === 'pin_added') lane(ev.pin);
        else if (ev.type === 'pin_removed') lanes.delete(ev.pin);
        else if (ev.type === 'pin_closed') lane(ev.pin).closed = true;
        else if (ev.packet.type === 'audio') {
          const p: AudioPacket = ev.packet;
          if (!format) format = { sampleRate: p.sampleRate, channels: p.channels };
          if (p.sampleRate !== format.sampleRate || p.channels !== format.channels) {
            throw new Error(
              `input ${ev.pin} is ${p.sampleRate} Hz × ${p.channels}, the mix is ${format.sampleRate} Hz × ${format.channels}`,
            );
          }
          const l = lane(ev.pin);
          l.chunks.push(p.samples);
          l.available += p.samples.length;
        }
        if (!format) continue;
        const frame = samplesPerFrame(format.sampleRate) * format.channels;
        for (;;) {
          const open = [...lanes.entries()].filter(([, l]) => !l.closed || l.available > 0);
          if (open.length === 0) break;
          // Wait for every open input; a closed lane with a short tail is flushed padded.
          const ready = open.every(
            ([, l]) => l.available >= frame || (l.closed && l.available > 0),
          );
          if (!ready) break;
          const out = new Float32Array(frame);
          for (const [pin, l] of open) mixInto(out, l, frame, ctx.params.gains[pin] ?? 1);
          const master = ctx.params.gain;
          for (let i = 0; i < frame; i++) out[i] = Math.max(-1, Math.min(1, out[i]! * master));
          await ctx.send('out', { type: 'audio', ...format, samples: out, ptsUs });
          ptsUs += AUDIO_FRAME_MS * 1000;
        }
      }
      return 'input_closed';
    },
  }),
});

function mixInto(out: Float32Array, lane: Lane, count: number, gain: number): void {
  let written = 0;
  while (written < count && lane.chunks.length > 0) {
    const chunk = lane.chunks[0]!;
    const n = Math.min(count - written, chunk.length - lane.offset);
    for (let i = 0; i < n; i++) out[written + i]! += chunk[lane.offset + i]! * gain;
    written += n;
    lane.offset += n;
    lane.available -= n;
    if (lane.offset >= chunk.length) {
      lane.chunks.shift();
      lane.offset = 0;
    }
  }
}
