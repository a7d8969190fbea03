import type { CodecFrame, CodecInstance } from '../codec-host';
import { OPUS_SAMPLE_RATE, opusPacketSamples } from '../opus/opus-packet';
import { OGG_MAX_SEGMENTS, OggHeaderType, lacingCount, oggPage } from './ogg-page';
import { opusHead } from '../opus/opus-head';

/** libopus's lookahead at 48 kHz for the `audio` and `voip` applications (`lowdelay`: 120). */
export const OPUS_DEFAULT_PRE_SKIP = 312;
/** A page is closed once it holds this much audio (opusenc's default page delay). */
export const OGG_MAX_PAGE_SAMPLES = OPUS_SAMPLE_RATE;
const VENDOR = 'patchbay';

export interface OggOpusOptions {
  channels: number;
  /** Samples (48 kHz) the decoder drops at the start: the encoder's lookahead. */
  preSkip: number;
  /** Informational OpusHead field: the rate the audio had before encoding. */
  inputSampleRate: number;
  serial: number;
  /** Bytes buffered before output is handed on (0: every page at once). */
  chunkSize: number;
}

/**
 * Builds an Ogg Opus stream (RFC 7845): OpusHead on its own first page (BOS), OpusTags on the
 * second, then audio pages whose granule position counts decoded samples including the
 * pre-skip. The last packet is held back until the stream ends, so the final page (EOS) always
 * carries audio and its granule can trim the end padding (a packet whose `durationUs` is shorter
 * than it decodes to).
 */
export class OggOpusWriter {
  readonly #o: OggOpusOptions;
  #sequence = 0;
  #granule = 0;
  #page: Uint8Array[] = [];
  #pageSegments = 0;
  #pageSamples = 0;
  #pageBytes = 0;
  #held: { data: Uint8Array; samples: number; realSamples: number } | undefined;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #packets = 0;

  constructor(options: OggOpusOptions) {
    this.#o = options;
    this.#emitPage(OggHeaderType.bos, 0, [opusHead(options)]);
    this.#emitPage(0, 0, [opusTags()]);
  }

  /** Adds one Opus packet; returns the bytes now ready (maybe none). */
  add(data: Uint8Array, durationUs: number | undefined): Uint8Array[] {
    const samples = opusPacketSamples(data);
    const realSamples =
      durationUs && durationUs > 0
        ? Math.min(samples, Math.round((durationUs * OPUS_SAMPLE_RATE) / 1e6))
        : samples;
    if (this.#held) this.#append(this.#held.data, this.#held.samples);
    this.#held = { data, samples, realSamples };
    this.#packets++;
    return this.#take(false);
  }

  /** Ends the stream: the last page (EOS) with the end-trimmed granule, and every byte left. */
  finish(): Uint8Array[] {
    const held = this.#held;
    this.#held = undefined;
    if (held) {
      // Not closed by size here: the last packet and the end-trimmed granule go on the EOS page.
      this.#append(held.data, held.realSamples, held.samples, false);
      this.#closePage(OggHeaderType.eos);
    } else {
      // No audio at all: an empty EOS page (granule -1: no packet ends on it) ends the stream.
      this.#emitPage(OggHeaderType.eos, -1, []);
    }
    return this.#take(true);
  }

  get packets(): number {
    return this.#packets;
  }

  /** `granuleSamples` counts toward the granule; `pageSamples` (the decoded length) toward page size. */
  #append(
    data: Uint8Array,
    granuleSamples: number,
    pageSamples = granuleSamples,
    mayClose = true,
  ): void {
    const segments = lacingCount(data.length);
    if (this.#pageSegments + segments > OGG_MAX_SEGMENTS) this.#closePage(0);
    this.#page.push(data);
    this.#pageSegments += segments;
    this.#pageSamples += pageSamples;
    this.#pageBytes += data.length;
    this.#granule += granuleSamples;
    const full = this.#o.chunkSize > 0 && this.#pageBytes >= this.#o.chunkSize;
    if (mayClose && (this.#pageSamples >= OGG_MAX_PAGE_SAMPLES || full)) this.#closePage(0);
  }

  #closePage(headerType: number): void {
    if (this.#page.length === 0) return;
    this.#emitPage(headerType, this.#granule, this.#page);
    this.#page = [];
    this.#pageSegments = 0;
    this.#pageSamples = 0;
    this.#pageBytes = 0;
  }

  #emitPage(headerType: number, granule: number, packets: Uint8Array[]): void {
    const page = oggPage({
      headerType,
      granule,
      serial: this.#o.serial,
      sequence: this.#sequence++,
      packets,
    });
    this.#out.push(page);
    this.#outBytes += page.length;
  }

  #take(all: boolean): Uint8Array[] {
    if (this.#out.length === 0 || (!all && this.#outBytes < this.#o.chunkSize)) return [];
    const chunk = concat(this.#out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    return [chunk];
  }
}

/** The muxer as a codec (run by the inline host: page assembly is a copy and a CRC per page). */
export function createOggOpusMuxer(options: OggOpusOptions): CodecInstance {
  const writer = new OggOpusWriter(options);
  const frames = (chunks: Uint8Array[]): CodecFrame[] => chunks.map((data) => ({ data }));
  return {
    process: (frame) => frames(writer.add(frame.data as Uint8Array, frame.durationUs)),
    flush: () => frames(writer.finish()),
  };
}

/** OpusTags (RFC 7845 §5.2): vendor string, no user comments. */
function opusTags(): Uint8Array {
  const vendor = ascii(VENDOR);
  const tags = new Uint8Array(8 + 4 + vendor.length + 4);
  const view = new DataView(tags.buffer);
  tags.set(ascii('OpusTags'));
  view.setUint32(8, vendor.length, true);
  tags.set(vendor, 12);
  view.setUint32(12 + vendor.length, 0, true);
  return tags;
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
