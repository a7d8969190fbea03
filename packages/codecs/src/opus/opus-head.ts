/**
 * OpusHead (RFC 7845 §5.1), channel mapping family 0 (mono or stereo): the first packet of an
 * Ogg Opus stream, and Matroska's CodecPrivate for A_OPUS.
 */
export function opusHead(o: {
  channels: number;
  preSkip: number;
  inputSampleRate: number;
}): Uint8Array {
  const head = new Uint8Array(19);
  const view = new DataView(head.buffer);
  head.set(Uint8Array.from('OpusHead', (c) => c.charCodeAt(0)));
  head[8] = 1; // version
  head[9] = o.channels;
  view.setUint16(10, o.preSkip, true);
  view.setUint32(12, o.inputSampleRate, true);
  view.setInt16(16, 0, true); // output gain
  head[18] = 0; // mapping family
  return head;
}
