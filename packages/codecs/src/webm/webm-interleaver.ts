import type { CodecFrame } from '../codec-host';

/** The tracks a WebM file of ours can hold. */
export const WebmTrack = { video: 'video', audio: 'audio' } as const;
export type WebmTrack = (typeof WebmTrack)[keyof typeof WebmTrack];

/**
 * How long (engine clock) the muxer waits on a connected input that sends nothing while another
 * input has packets waiting: for its first packet before the header is written without it, and
 * later before the others are written ahead of it. Generous: a VP9 encoder's first frame can take
 * hundreds of ms; an input that is not coming at all only costs this much latency once.
 */
export const WEBM_TRACK_WAIT_MS = 2_000;

/** Used for a video packet's duration until two have been seen (a 30 fps frame). */
const DEFAULT_VIDEO_FRAME_US = 33_333;
/** Used for an Opus packet without a duration (the encoder's 20 ms frame). */
const DEFAULT_AUDIO_FRAME_US = 20_000;

/** A frame for the WebM writer: `meta.track` names its track, or `meta.header` opens the file. */
export type WebmWriterFrame = CodecFrame;

export interface WebmInterleaverOptions {
  /** The tracks whose inputs are connected now (read while the header waits). */
  connected: () => readonly WebmTrack[];
  /** Default WEBM_TRACK_WAIT_MS. */
  waitMs?: number;
  /** The engine clock (ms). */
  now: () => number;
}

interface Queued {
  frame: CodecFrame;
  /** When it arrived (engine clock), for the wait bound. */
  at: number;
}

/**
 * Decides which tracks the WebM header lists and hands the writer every packet in timestamp
 * order, with its duration. Pure logic over an injected clock, so tests drive it directly.
 *
 * The header rule: the header (EBML, Segment, Tracks) must list every track before the first
 * Cluster, so nothing is written until each connected input has sent its first packet, has closed
 * or been disconnected (it is then left out), or has sent nothing for `waitMs` since the first
 * packet of another input arrived (it is left out too). "Connected" is read whenever the header
 * is still waiting, not only when the run starts: the engine attaches an input once its upstream
 * node is ready, which can be after this node's run began, and starts sources only once every
 * node is ready, so by the first packet every connection of the starting pipeline is attached.
 * Only tracks that delivered a packet are listed; packets of a track that was left out and shows
 * up later are dropped (counted in `dropped`): a Matroska file cannot grow a track after its header.
 *
 * Interleaving: a packet is written only once every open track has a packet queued (so nothing
 * earlier can still come), smallest timestamp first (video first on a tie, so a cluster that a
 * keyframe starts holds the audio of its time). A video packet also waits for the next video
 * packet, whose timestamp gives its duration (the last one repeats the previous gap). A closed
 * track no longer holds the others back; an open one that sends nothing for `waitMs` while a
 * packet waits stops holding it back (a stalled live input does not stall the file; its late
 * packets are then written out of order across tracks, which Matroska allows).
 */
export class WebmInterleaver {
  readonly #waitMs: number;
  readonly #now: () => number;
  readonly #connected: () => readonly WebmTrack[];
  readonly #queues = new Map<WebmTrack, Queued[]>();
  readonly #closed = new Set<WebmTrack>();
  /** The tracks the header listed, once it is written. */
  #tracks: WebmTrack[] | undefined;
  #firstAt: number | undefined;
  #videoGapUs = DEFAULT_VIDEO_FRAME_US;
  /** Packets of tracks the header does not list. */
  dropped = 0;

  constructor(options: WebmInterleaverOptions) {
    this.#waitMs = options.waitMs ?? WEBM_TRACK_WAIT_MS;
    this.#now = options.now;
    this.#connected = options.connected;
  }

  /** The tracks the header listed (undefined until it is written). */
  get tracks(): readonly WebmTrack[] | undefined {
    return this.#tracks;
  }

  /** One input packet; returns what can be written now (the header frame first, once). */
  push(track: WebmTrack, frame: CodecFrame): WebmWriterFrame[] {
    const now = this.#now();
    if (this.#tracks && !this.#tracks.includes(track)) {
      this.dropped++;
      return this.#release(now, false);
    }
    this.#closed.delete(track);
    let q = this.#queues.get(track);
    if (!q) this.#queues.set(track, (q = []));
    q.push({ frame, at: now });
    this.#firstAt ??= now;
    return this.#release(now, false);
  }

  /** The input of `track` was connected (again): while the header waits, it waits for it too. */
  open(track: WebmTrack): WebmWriterFrame[] {
    this.#closed.delete(track);
    return this.#release(this.#now(), false);
  }

  /** The input of `track` closed or was disconnected: it holds nothing back any more. */
  close(track: WebmTrack): WebmWriterFrame[] {
    this.#closed.add(track);
    return this.#release(this.#now(), false);
  }

  /** End of input: the header (if any packet came) and every queued packet, in order. */
  end(): WebmWriterFrame[] {
    return this.#release(this.#now(), true);
  }

  #release(now: number, ending: boolean): WebmWriterFrame[] {
    const out: WebmWriterFrame[] = [];
    if (!this.#tracks) {
      if (this.#firstAt === undefined) return out; // nothing to write yet (or at all)
      const waiting = this.#connected().some((t) => !this.#queues.has(t) && !this.#closed.has(t));
      if (waiting && now - this.#firstAt < this.#waitMs && !ending) return out;
      // Video first: the writer numbers tracks in this order.
      this.#tracks = [WebmTrack.video, WebmTrack.audio].filter(
        (t) => (this.#queues.get(t)?.length ?? 0) > 0,
      );
      out.push(this.#headerFrame());
    }
    const tracks = this.#tracks;
    for (;;) {
      let min: WebmTrack | undefined;
      let starving = false;
      for (const t of tracks) {
        const head = this.#queues.get(t)?.[0];
        if (!head) {
          if (!this.#closed.has(t)) starving = true;
          continue;
        }
        const minHead = min && this.#queues.get(min)![0]!;
        if (!minHead || (head.frame.ptsUs ?? 0) < (minHead.frame.ptsUs ?? 0)) min = t;
      }
      if (!min) break;
      const q = this.#queues.get(min)!;
      const head = q[0]!;
      const stale = now - head.at >= this.#waitMs;
      if (!ending && starving && !stale) break;
      const next = q[1];
      if (min === WebmTrack.video && !next && !ending && !this.#closed.has(min) && !stale) break;
      q.shift();
      let durationUs: number;
      if (min === WebmTrack.video) {
        if (next) this.#videoGapUs = Math.max(0, (next.frame.ptsUs ?? 0) - (head.frame.ptsUs ?? 0));
        durationUs = this.#videoGapUs;
      } else {
        durationUs = head.frame.durationUs ?? DEFAULT_AUDIO_FRAME_US;
      }
      out.push({ ...head.frame, durationUs, meta: { ...head.frame.meta, track: min } });
    }
    return out;
  }

  /**
   * Opens the file: which tracks it lists, with the first video packet as its data (the writer
   * reads the frame size from that keyframe's header: VP8/VP9 packets carry no size otherwise).
   */
  #headerFrame(): WebmWriterFrame {
    const tracks = this.#tracks!;
    const firstVideo = this.#queues.get(WebmTrack.video)?.[0]?.frame;
    return {
      data: (firstVideo?.data as Uint8Array | undefined) ?? new Uint8Array(0),
      keyframe: firstVideo?.keyframe ?? false,
      meta: {
        header: true,
        video: tracks.includes(WebmTrack.video),
        ...(firstVideo?.meta?.codec !== undefined ? { codec: firstVideo.meta.codec } : {}),
        audio: tracks.includes(WebmTrack.audio),
      },
    };
  }
}
