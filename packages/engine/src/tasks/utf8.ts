/**
 * UTF-8 decoding without `TextDecoder` (not part of the engine's ES-only world). Streaming: a
 * multi-byte sequence split across chunks waits for its remaining bytes; invalid bytes become
 * U+FFFD.
 */
export class Utf8Decoder {
  #pending: number[] = [];

  /** Decodes what is complete; with `final`, an unfinished trailing sequence becomes U+FFFD. */
  decode(bytes: Uint8Array, final = false): string {
    const input = this.#pending.length > 0 ? [...this.#pending, ...bytes] : bytes;
    this.#pending = [];
    let out = '';
    const codes: number[] = [];
    const flush = () => {
      out += String.fromCodePoint(...codes);
      codes.length = 0;
    };
    let i = 0;
    while (i < input.length) {
      const b = input[i]!;
      let need: number;
      let cp: number;
      if (b < 0x80) {
        codes.push(b);
        i++;
        if (codes.length >= 4096) flush();
        continue;
      } else if (b >= 0xc2 && b < 0xe0) {
        need = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b < 0xf0) {
        need = 2;
        cp = b & 0x0f;
      } else if (b >= 0xf0 && b < 0xf5) {
        need = 3;
        cp = b & 0x07;
      } else {
        codes.push(0xfffd);
        i++;
        continue;
      }
      if (!final && i + need >= input.length) {
        // Cut at the end of this chunk: keep it for the next one when it is valid so far.
        let valid = true;
        for (let k = i + 1; k < input.length; k++) if ((input[k]! & 0xc0) !== 0x80) valid = false;
        if (valid) {
          this.#pending = Array.from(input.slice(i));
          break;
        }
      }
      let ok = true;
      for (let k = 1; k <= need; k++) {
        const c = input[i + k];
        if (c === undefined || (c & 0xc0) !== 0x80) {
          ok = false;
          break;
        }
        cp = (cp << 6) | (c & 0x3f);
      }
      if (!ok || (need === 2 && cp < 0x800) || (need === 3 && (cp < 0x10000 || cp > 0x10ffff))) {
        codes.push(0xfffd);
        i++;
        continue;
      }
      if (cp >= 0xd800 && cp <= 0xdfff) codes.push(0xfffd);
      else codes.push(cp);
      i += need + 1;
      if (codes.length >= 4096) flush();
    }
    flush();
    return out;
  }
}

/** Decodes a whole buffer. */
export function utf8Decode(bytes: Uint8Array): string {
  return new Utf8Decoder().decode(bytes, true);
}
