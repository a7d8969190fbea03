/** Stable codes for codec failures (hosts, the forward loop, codec nodes). */
export const CodecErrorCode = {
  /** The codec module could not be loaded or its `create` threw. */
  codec_start_failed: 'codec_start_failed',
  /** The codec did not become ready within the start timeout (a warm-up that hangs). */
  codec_start_timeout: 'codec_start_timeout',
  /** A factory codec was given to a host that runs code elsewhere (functions do not cross threads). */
  codec_not_portable: 'codec_not_portable',
  /** The codec threw, or its thread or process died (C4). */
  codec_crashed: 'codec_crashed',
  /** The idle watchdog abandoned a stuck codec (C3). */
  codec_watchdog_abandoned: 'codec_watchdog_abandoned',
  /** A packet the codec node cannot take (wrong sample rate, channel count, packet type). */
  bad_input: 'bad_input',
  /** A host was used out of order (push before start, start twice): a bug in the caller. */
  host_misuse: 'host_misuse',
} as const;
export type CodecErrorCode = (typeof CodecErrorCode)[keyof typeof CodecErrorCode];

/** The one error class of this package: a stable `code`, a message, an optional `cause`. */
export class CodecError extends Error {
  readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CodecError';
    this.code = code;
  }
}

/** A message for any thrown value (workers and child processes report strings, not Errors). */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}
