import { Utf8Decoder } from './utf8';

/**
 * Server-sent events as OpenAI-compatible servers stream them: `data:` lines (several join with
 * newlines), events separated by a blank line, `:` comments ignored, CRLF or LF line ends.
 * Decoding is incremental: a UTF-8 sequence or a line split across chunks is kept until complete.
 */
export class SseParser {
  readonly #decoder = new Utf8Decoder();
  #buffer = '';
  #data: string[] = [];

  /** Feeds bytes; returns the `data` of every event completed by them. */
  push(bytes: Uint8Array): string[] {
    this.#buffer += this.#decoder.decode(bytes);
    return this.#drain();
  }

  /** Ends the stream; returns a last event not followed by a blank line. */
  end(): string[] {
    this.#buffer += this.#decoder.decode(new Uint8Array(0), true);
    const events = this.#drain();
    if (this.#buffer !== '') this.#line(this.#buffer, events);
    this.#buffer = '';
    if (this.#data.length > 0) events.push(this.#data.join('\n'));
    this.#data = [];
    return events;
  }

  #drain(): string[] {
    const events: string[] = [];
    for (;;) {
      const nl = this.#buffer.indexOf('\n');
      if (nl < 0) break;
      const line = this.#buffer.slice(0, nl).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(nl + 1);
      this.#line(line, events);
    }
    return events;
  }

  #line(line: string, events: string[]): void {
    if (line === '') {
      if (this.#data.length > 0) events.push(this.#data.join('\n'));
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
  }
}
