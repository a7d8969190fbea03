import type { Readable } from 'node:stream';

const KEEP_BYTES = 4_096;

/** Keeps the end of a codec's stderr so a crash report can say why (an uncaught error's message). */
export class StderrTail {
  #text = '';

  follow(stream: Readable | null | undefined): void {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      this.#text = (this.#text + chunk).slice(-KEEP_BYTES);
    });
  }

  /** `: <the most telling line>` (an `Error:` line if there is one, else the last), or ''. */
  suffix(): string {
    const lines = this.#text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const line = lines.find((l) => /^(\w*Error|Uncaught)\b/.test(l)) ?? lines.at(-1);
    return line ? `: ${line.slice(0, 300)}` : '';
  }
}
