/**
 * The Ogg Opus muxer, checked by reading its files back with an independent parser written here
 * (page CRCs with a bit-by-bit CRC, flags, sequence numbers, OpusHead/OpusTags, granules) and by
 * decoding the packets again. When Debian's ffprobe happens to be installed it is asked too.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runOneshot } from '@patchbay/engine';
import { importPipelineYaml } from '@patchbay/protocol';
import { opusPacketSamples } from '../opus/opus-packet';
import { instantiateOpus } from '../opus/opus-wasm.mjs';
import { createCodecRegistry } from '../register';
import { nodeClock } from '../testing/helpers';
import { OggOpusWriter } from './ogg-opus-muxer';

const dir = mkdtempSync(join(tmpdir(), 'patchbay-ogg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Page {
  headerType: number;
  granule: bigint;
  serial: number;
  sequence: number;
  /** Packets that end on this page (a packet continued from earlier pages is joined). */
  packets: Uint8Array[];
}

/** CRC-32/Ogg the slow way (bit by bit), so a table bug in the muxer cannot hide here. */
function crcBitwise(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 24;
    for (let b = 0; b < 8; b++)
      crc = crc & 0x80000000 ? ((crc << 1) ^ 0x04c11db7) >>> 0 : (crc << 1) >>> 0;
  }
  return crc >>> 0;
}

/** Parses a whole Ogg file, checking every page's capture pattern, version and CRC. */
function parseOgg(file: Uint8Array): Page[] {
  const pages: Page[] = [];
  let partial: number[] = [];
  let at = 0;
  while (at < file.length) {
    const view = new DataView(file.buffer, file.byteOffset + at);
    expect(String.fromCharCode(...file.subarray(at, at + 4)), `capture pattern at ${at}`).toBe(
      'OggS',
    );
    expect(file[at + 4], 'version').toBe(0);
    const segments = file[at + 26]!;
    const lacing = file.subarray(at + 27, at + 27 + segments);
    const bodyLength = lacing.reduce((n, v) => n + v, 0);
    const length = 27 + segments + bodyLength;
    const page = file.slice(at, at + length);
    const stored = new DataView(page.buffer).getUint32(22, true);
    page.fill(0, 22, 26);
    expect(crcBitwise(page), `CRC of page ${pages.length}`).toBe(stored);
    const packets: Uint8Array[] = [];
    let body = at + 27 + segments;
    for (const v of lacing) {
      for (let i = 0; i < v; i++) partial.push(file[body + i]!);
      body += v;
      if (v < 255) {
        packets.push(Uint8Array.from(partial));
        partial = [];
      }
    }
    pages.push({
      headerType: file[at + 5]!,
      granule: view.getBigInt64(6, true),
      serial: view.getUint32(14, true),
      sequence: view.getUint32(18, true),
      packets,
    });
    at += length;
  }
  expect(partial, 'no unfinished packet at the end').toEqual([]);
  return pages;
}

/** Reads OpusHead (RFC 7845 §5.1). */
function opusHead(packet: Uint8Array) {
  const view = new DataView(packet.buffer, packet.byteOffset);
  return {
    magic: String.fromCharCode(...packet.subarray(0, 8)),
    version: packet[8],
    channels: packet[9],
    preSkip: view.getUint16(10, true),
    inputSampleRate: view.getUint32(12, true),
    gain: view.getInt16(16, true),
    family: packet[18],
  };
}

const TONE_YAML = `
name: Tone as Ogg Opus
description: 1.01 s of 440 Hz, Opus at 64 kbit/s in Ogg
mode: oneshot
nodes:
  tone:
    kind: audio::sine
    params: { frequency_hz: 440, duration_ms: 1010 }
  enc:
    kind: audio::opus::encoder
    params: { bitrate: 64000 }
    needs: tone
  mux:
    kind: containers::ogg::muxer
    params: { channels: 1, chunk_size: 4096, stream_serial: 1234 }
    needs: enc
  out:
    kind: streamkit::http_output
    needs: mux
`;

describe('containers::ogg::muxer', () => {
  it('[C5] a oneshot YAML pipeline writes an Ogg Opus file that reads back with the right duration and packet count', async () => {
    const registry = createCodecRegistry();
    const imported = importPipelineYaml(TONE_YAML, registry);
    if (!imported.ok) throw new Error(JSON.stringify(imported.error));
    const file = join(dir, 'tone.opus');
    const r = await runOneshot(imported.value, {
      registry,
      clock: nodeClock(),
      io: { input: () => undefined, write: (chunk) => appendFileSync(file, chunk) },
    });
    expect(r.ok).toBe(true);
    expect(r.states.mux).toEqual({ status: 'stopped', reason: 'input_closed' });

    const pages = parseOgg(new Uint8Array(readFileSync(file)));
    expect(pages.map((p) => p.sequence)).toEqual(pages.map((_, i) => i));
    expect(new Set(pages.map((p) => p.serial))).toEqual(new Set([1234]));
    // BOS only on the first page, EOS only on the last, no page continues a packet.
    expect(pages.map((p) => p.headerType & 0x02)).toEqual(
      pages.map((_, i) => (i === 0 ? 0x02 : 0)),
    );
    expect(pages.map((p) => p.headerType & 0x04)).toEqual(
      pages.map((_, i) => (i === pages.length - 1 ? 0x04 : 0)),
    );
    expect(pages.every((p) => (p.headerType & 0x01) === 0)).toBe(true);

    // Page 0: OpusHead alone; page 1: OpusTags alone; both granule 0.
    expect(pages[0]!.packets).toHaveLength(1);
    const head = opusHead(pages[0]!.packets[0]!);
    expect(head).toEqual({
      magic: 'OpusHead',
      version: 1,
      channels: 1,
      preSkip: 312,
      inputSampleRate: 48_000,
      gain: 0,
      family: 0,
    });
    expect(pages[1]!.packets).toHaveLength(1);
    const tags = pages[1]!.packets[0]!;
    expect(String.fromCharCode(...tags.subarray(0, 8))).toBe('OpusTags');
    const vendorLength = new DataView(tags.buffer).getUint32(8, true);
    expect(String.fromCharCode(...tags.subarray(12, 12 + vendorLength))).toBe('patchbay');
    expect(new DataView(tags.buffer).getUint32(12 + vendorLength, true)).toBe(0);
    expect([pages[0]!.granule, pages[1]!.granule]).toEqual([0n, 0n]);

    // Audio: 1.01 s = 48 480 samples; + 312 pre-skip → 51 packets of 20 ms.
    const audioPages = pages.slice(2);
    const packets = audioPages.flatMap((p) => p.packets);
    expect(packets).toHaveLength(51);
    expect(packets.every((p) => opusPacketSamples(p) === 960)).toBe(true);
    // Each page's granule counts every sample decoded through its last packet, pre-skip included;
    // the last page's granule trims the padding off the end.
    let decodedThrough = 0;
    audioPages.forEach((page, i) => {
      decodedThrough += page.packets.reduce((n, p) => n + opusPacketSamples(p), 0);
      if (i < audioPages.length - 1) expect(page.granule).toBe(BigInt(decodedThrough));
    });
    const lastGranule = Number(audioPages.at(-1)!.granule);
    expect(lastGranule).toBe(312 + 48_480);
    expect(lastGranule).toBeLessThanOrEqual(decodedThrough);
    expect((lastGranule - head.preSkip) / 48_000).toBe(1.01);

    // The packets decode back to the tone (SNR against the sine the pipeline was asked for).
    const decoder = instantiateOpus(undefined).decoder({ channels: 1 });
    const pcm: number[] = [];
    for (const p of packets) for (const v of decoder.decode(p)) pcm.push(v / 32768);
    decoder.free();
    const audio = pcm.slice(head.preSkip, lastGranule);
    expect(audio).toHaveLength(48_480);
    let signal = 0;
    let noise = 0;
    audio.forEach((v, i) => {
      const ref = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 48_000);
      signal += ref ** 2;
      noise += (ref - v) ** 2;
    });
    expect(10 * Math.log10(signal / noise)).toBeGreaterThanOrEqual(30);

    // A second opinion when Debian's ffprobe is on the machine (the checks above always run).
    const ffprobe = ['/usr/bin/ffprobe', '/usr/local/bin/ffprobe'].find((p) => existsSync(p));
    if (ffprobe) {
      const probe = JSON.parse(
        execFileSync(
          ffprobe,
          [
            '-v',
            'error',
            '-count_packets',
            '-show_entries',
            'stream=codec_name,channels,sample_rate,nb_read_packets:format=duration',
            '-of',
            'json',
            file,
          ],
          {
            encoding: 'utf8',
          },
        ),
      ) as { streams: Array<Record<string, unknown>>; format: { duration: string } };
      expect(probe.streams[0]).toMatchObject({
        codec_name: 'opus',
        channels: 1,
        sample_rate: '48000',
        nb_read_packets: '51',
      });
      // ffprobe's duration includes the pre-skip: ffmpeg's own libopus encode of the same 1.01 s
      // tone reports 1.0165 s (48 792 samples) and 51 packets too.
      expect(Number(probe.format.duration)).toBeCloseTo((312 + 48_480) / 48_000, 4);
    }
  });

  it('chunk_size 0 hands on every page at once; pages close after 1 s of audio', () => {
    const writer = new OggOpusWriter({
      channels: 1,
      preSkip: 312,
      inputSampleRate: 48_000,
      serial: 7,
      chunkSize: 0,
    });
    const chunks: Uint8Array[] = [];
    // 3 s of 20 ms CELT fullband packets (TOC config 31, code 0).
    for (let i = 0; i < 150; i++)
      chunks.push(...writer.add(Uint8Array.from([0xf8, i & 0xff, 1, 2, 3]), 20_000));
    chunks.push(...writer.finish());
    // Headers as soon as the first packet arrives, then each page as it closes.
    const pages = chunks.map((c) => parseOgg(c));
    expect(pages.map((p) => p.length)).toEqual([2, 1, 1, 1]);
    const audio = pages.slice(1).map((p) => p[0]!);
    expect(audio.map((p) => p.packets.length)).toEqual([50, 50, 50]);
    expect(audio.map((p) => p.granule)).toEqual([48_000n, 96_000n, 144_000n]);
    expect(audio.at(-1)!.headerType).toBe(0x04);
  });

  it('a stream with no audio is OpusHead, OpusTags and an empty EOS page', () => {
    const writer = new OggOpusWriter({
      channels: 2,
      preSkip: 120,
      inputSampleRate: 44_100,
      serial: 1,
      chunkSize: 65_536,
    });
    const pages = parseOgg(writer.finish()[0]!);
    expect(pages.map((p) => [p.headerType, p.packets.length, p.granule])).toEqual([
      [0x02, 1, 0n],
      [0x00, 1, 0n],
      [0x04, 0, -1n],
    ]);
    expect(opusHead(pages[0]!.packets[0]!)).toMatchObject({
      channels: 2,
      preSkip: 120,
      inputSampleRate: 44_100,
    });
  });
});
