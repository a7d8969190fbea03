import { err, ok } from '@patchbay/protocol';
import type { Result } from '@patchbay/protocol';
import { BaseCodecHost } from './codec-host';
import type { CodecFrame, CodecInfo } from './codec-host';
import { CodecError } from './errors';

/** What a codec running in another thread or process sends back (runtime/codec-runtime.mjs). */
export type RemoteCodecMessage =
  | { type: 'beat' }
  | { type: 'ready'; info: CodecInfo }
  | { type: 'start_failed'; error: string }
  | { type: 'output'; frames: CodecFrame[]; consumed: number }
  | { type: 'done' }
  | { type: 'error'; error: string };

/**
 * The part the worker and process hosts share: the start handshake and how the codec runtime's
 * messages become host events. Subclasses own the transport (a Worker, a child process).
 */
export abstract class RemoteCodecHost extends BaseCodecHost {
  /** Prefix of crash reasons: `worker` or `process`. */
  protected abstract readonly label: string;
  /** Messages received: part of the liveness counter the watchdog reads. */
  protected messages = 0;
  #ready: ((r: Result<CodecInfo, CodecError>) => void) | undefined;

  /** Resolves when the codec reports ready, fails to start, or the host ends first. */
  protected waitReady(): Promise<Result<CodecInfo, CodecError>> {
    return new Promise((resolve) => (this.#ready = resolve));
  }

  protected onCodecMessage(msg: RemoteCodecMessage): void {
    this.messages++;
    switch (msg.type) {
      case 'beat':
        return;
      case 'ready':
        this.settleReady(ok(msg.info));
        return;
      case 'start_failed':
        this.settleReady(err(new CodecError('codec_start_failed', msg.error)));
        this.fail(msg.error);
        return;
      case 'output':
        this.emit({ type: 'output', frames: msg.frames, consumed: msg.consumed });
        return;
      case 'done':
        this.emit({ type: 'done' });
        return;
      case 'error':
        this.fail(`threw: ${msg.error}`);
        return;
    }
  }

  /** The codec or its transport died: a start still waiting fails, a run reports `crashed`. */
  protected fail(reason: string): void {
    this.settleReady(err(new CodecError('codec_start_failed', reason)));
    this.emit({ type: 'crashed', error: `${this.label} ${reason}` });
  }

  protected settleReady(r: Result<CodecInfo, CodecError>): void {
    const ready = this.#ready;
    this.#ready = undefined;
    ready?.(r);
  }
}
