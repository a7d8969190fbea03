/** Where a oneshot run's bytes come from and go to; hosts pass it as `services.oneshotIO`. */
export interface OneshotIO {
  /** The bytes bound to an `io::input` node's `name` (an HTTP field, a CLI file). */
  input(name: string): AsyncIterable<Uint8Array> | undefined;
  /** Receives the `io::output` node's bytes in order; may wait (backpressure). */
  write(chunk: Uint8Array): Promise<void> | void;
}

export const ONESHOT_IO_SERVICE = 'oneshotIO';

/** UTF-8 without `TextEncoder` (not part of the engine's ES-only world). */
export function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    let c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}
