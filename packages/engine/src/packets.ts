/**
 * What flows between pins. Packets are immutable once sent: a fan-out hands the same object to
 * every consumer, so a node that wants to change a buffer copies it first.
 */
export type Packet =
  | AudioPacket
  | OpusPacket
  | VideoPacket
  | EncodedVideoPacket
  | TextPacket
  | JsonPacket
  | BinaryPacket;

/** Interleaved float PCM, nominally 20 ms per packet. */
export interface AudioPacket {
  type: 'audio';
  sampleRate: number;
  channels: number;
  samples: Float32Array;
  /** Presentation time of the first sample, microseconds from stream start. */
  ptsUs: number;
}

export interface OpusPacket {
  type: 'opus';
  data: Uint8Array;
  ptsUs: number;
  durationUs: number;
}

/**
 * Raw video. `rgba` (also when `format` is absent): RGBA8, row-major, `width * 4` bytes per row,
 * straight (not premultiplied) alpha. `i420`: planar YUV 4:2:0, BT.601 limited range, the Y
 * plane (`width * height` bytes) then U and V (`width/2 * height/2` each), no row padding; width
 * and height even. What encoders take, so a compositor feeding one can skip a conversion step.
 */
export interface VideoPacket {
  type: 'video';
  width: number;
  height: number;
  format?: VideoFormat;
  data: Uint8Array;
  ptsUs: number;
  /**
   * Set when `data` comes from a producer's FramePool: the engine and consumers that are done
   * with the pixels hand it back through `releasePacket` (see frame-pool.ts). Never serialized.
   */
  lease?: PacketLease;
}

/** A reference-counted hold on a pooled buffer (implemented by frame-pool.ts's FrameLease). */
export interface PacketLease {
  /** References still held; 0 once the buffer went back to its pool. */
  readonly refs: number;
  /** One more holder, who will call `release`. */
  retain(): void;
  /** One holder is done; the last one returns the buffer to its pool. */
  release(): void;
  /** Someone keeps the buffer for an unknown time: it is never reused. */
  keep(): void;
}

export const VideoFormat = { rgba: 'rgba', i420: 'i420' } as const;
export type VideoFormat = (typeof VideoFormat)[keyof typeof VideoFormat];

export interface EncodedVideoPacket {
  type: 'encoded_video';
  codec: string;
  data: Uint8Array;
  keyframe: boolean;
  ptsUs: number;
}

export interface TextPacket {
  type: 'text';
  text: string;
}

export interface JsonPacket {
  type: 'json';
  value: unknown;
}

export interface BinaryPacket {
  type: 'binary';
  data: Uint8Array;
  contentType?: string;
}
