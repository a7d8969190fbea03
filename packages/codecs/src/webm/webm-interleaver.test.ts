/**
 * The WebM header and interleaving rules, driven directly with a manual clock: which tracks the
 * header lists (connected inputs, closed inputs, silent inputs), and the order and durations of
 * the blocks handed to the writer.
 */
import { describe, expect, it } from 'vitest';
import type { CodecFrame } from '../codec-host';
import { WebmInterleaver, WebmTrack } from './webm-interleaver';
import type { WebmWriterFrame } from './webm-interleaver';

const WAIT_MS = 2_000;

function setup(connected: WebmTrack[]) {
  let now = 0;
  const il = new WebmInterleaver({ connected: () => connected, now: () => now, waitMs: WAIT_MS });
  const written: WebmWriterFrame[] = [];
  return {
    il,
    written,
    advance: (ms: number) => (now += ms),
    take: (frames: WebmWriterFrame[]) => void written.push(...frames),
  };
}

const video = (ptsUs: number, keyframe = false): CodecFrame => ({
  data: Uint8Array.of(ptsUs & 0xff),
  ptsUs,
  keyframe,
});
const audio = (ptsUs: number): CodecFrame => ({
  data: Uint8Array.of(1),
  ptsUs,
  durationUs: 20_000,
});

/** `H(video,audio)` for a header, `v33333` / `a20000` for blocks. */
function describeWritten(frames: WebmWriterFrame[]): string[] {
  return frames.map((f) =>
    f.meta?.header
      ? `H(${[f.meta.video && 'video', f.meta.audio && 'audio'].filter(Boolean).join(',')})`
      : `${String(f.meta?.track)[0]}${f.ptsUs}`,
  );
}

describe('WebmInterleaver', () => {
  it('waits for the first packet of every connected input before the header, then writes blocks in timestamp order (video first on a tie, each video block once its successor is known)', () => {
    const t = setup([WebmTrack.video, WebmTrack.audio]);
    // Audio runs ahead of video, as an unpaced Opus encoder does.
    for (const pts of [0, 20_000, 40_000, 60_000]) t.take(t.il.push(WebmTrack.audio, audio(pts)));
    expect(t.written).toEqual([]); // the header waits for the video input
    t.take(t.il.push(WebmTrack.video, video(0, true)));
    // Video 0 waits for video 1 (its duration); audio 0 cannot go before it (tie: video first).
    expect(describeWritten(t.written)).toEqual(['H(video,audio)']);
    t.take(t.il.push(WebmTrack.video, video(33_333)));
    expect(describeWritten(t.written)).toEqual(['H(video,audio)', 'v0', 'a0', 'a20000']);
    t.take(t.il.push(WebmTrack.video, video(66_667)));
    t.take(t.il.end());
    expect(describeWritten(t.written)).toEqual([
      'H(video,audio)',
      'v0',
      'a0',
      'a20000',
      'v33333',
      'a40000',
      'a60000',
      'v66667',
    ]);
    // The header carries the first video keyframe (the writer reads the frame size from it).
    expect(t.written[0]!.keyframe).toBe(true);
    expect(t.written[0]!.data).toEqual(video(0).data);
    // Video durations are the gap to the next frame; the last repeats the previous gap.
    const durations = t.written.filter((f) => f.meta?.track === 'video').map((f) => f.durationUs);
    expect(durations).toEqual([33_333, 33_334, 33_334]);
    expect(t.written.filter((f) => f.meta?.track === 'audio').map((f) => f.durationUs)).toEqual([
      20_000, 20_000, 20_000, 20_000,
    ]);
  });

  it('an input that closes without data is left out of the header, and the other track is written', () => {
    const t = setup([WebmTrack.video, WebmTrack.audio]);
    t.take(t.il.push(WebmTrack.audio, audio(0)));
    t.take(t.il.push(WebmTrack.audio, audio(20_000)));
    expect(t.written).toEqual([]);
    t.take(t.il.close(WebmTrack.video));
    expect(describeWritten(t.written)).toEqual(['H(audio)', 'a0', 'a20000']);
    expect(t.il.tracks).toEqual(['audio']);
  });

  it('a connected input that sends nothing for the wait bound is left out; its late packets are dropped and counted', () => {
    const t = setup([WebmTrack.video, WebmTrack.audio]);
    t.take(t.il.push(WebmTrack.audio, audio(0)));
    t.advance(WAIT_MS - 1);
    t.take(t.il.push(WebmTrack.audio, audio(20_000)));
    expect(t.written).toEqual([]);
    t.advance(1);
    t.take(t.il.push(WebmTrack.audio, audio(40_000)));
    expect(describeWritten(t.written)).toEqual(['H(audio)', 'a0', 'a20000', 'a40000']);
    t.take(t.il.push(WebmTrack.video, video(0, true)));
    expect(t.il.dropped).toBe(1);
    expect(t.written).toHaveLength(4);
  });

  it('a track that ends early stops holding the other back; a stalled open track holds it back only for the wait bound', () => {
    const t = setup([WebmTrack.video, WebmTrack.audio]);
    t.take(t.il.push(WebmTrack.video, video(0, true)));
    t.take(t.il.push(WebmTrack.audio, audio(0)));
    t.take(t.il.push(WebmTrack.video, video(33_333)));
    t.take(t.il.push(WebmTrack.audio, audio(20_000)));
    expect(describeWritten(t.written)).toEqual(['H(video,audio)', 'v0', 'a0', 'a20000']);
    // Audio stalls (still open): video waits for it, then goes ahead after the bound.
    t.take(t.il.push(WebmTrack.video, video(66_667)));
    t.advance(WAIT_MS);
    t.take(t.il.push(WebmTrack.video, video(100_000)));
    expect(describeWritten(t.written).slice(4)).toEqual(['v33333', 'v66667']);
    // Audio closes: video is no longer held back by it (the newest frame still waits for its successor).
    t.take(t.il.close(WebmTrack.audio));
    t.take(t.il.push(WebmTrack.video, video(133_333)));
    expect(describeWritten(t.written).slice(6)).toEqual(['v100000']);
    t.take(t.il.end());
    expect(describeWritten(t.written).slice(7)).toEqual(['v133333']);
  });

  it('an input connected after the run started is waited for too; with no packet at all nothing is written', () => {
    const connected: WebmTrack[] = [WebmTrack.audio];
    let now = 0;
    const il = new WebmInterleaver({ connected: () => connected, now: () => now });
    expect(il.end()).toEqual([]);
    const il2 = new WebmInterleaver({ connected: () => connected, now: () => now });
    connected.push(WebmTrack.video); // attached once its upstream became ready
    expect(il2.push(WebmTrack.audio, audio(0))).toEqual([]);
    now += 10;
    expect(describeWritten(il2.push(WebmTrack.video, video(0, true)))).toEqual(['H(video,audio)']);
  });
});
