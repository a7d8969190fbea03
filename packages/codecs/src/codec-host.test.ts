/**
 * The CodecHost contract, run against every implementation (worker thread, child process,
 * inline). Cases an inline host cannot survive by design (a wedge on the calling thread, an
 * exit) run only against the hosts that isolate the codec.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CodecEvent, CodecFrame, CodecHost } from './codec-host';
import { InlineCodecHost } from './inline-codec-host';
import { ProcessCodecHost } from './process-codec-host';
import { TEST_CODEC, processAlive, until } from './testing/helpers';
import { WorkerCodecHost } from './worker-codec-host';

interface HostCase {
  name: string;
  make(): CodecHost;
  /** The codec runs apart from the test: it may wedge, exit or die without taking the test down. */
  isolated: boolean;
}

const HOSTS: HostCase[] = [
  { name: 'WorkerCodecHost', make: () => new WorkerCodecHost(), isolated: true },
  { name: 'ProcessCodecHost', make: () => new ProcessCodecHost(), isolated: true },
  { name: 'InlineCodecHost', make: () => new InlineCodecHost(), isolated: false },
];

const live: CodecHost[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((h) => h.terminate()));
});

/** Starts the test codec in a fresh host and records every event. */
async function started(hc: HostCase, init: Record<string, unknown>) {
  const host = hc.make();
  live.push(host);
  const events: CodecEvent[] = [];
  host.subscribe((e) => events.push(e));
  const r = await host.start(TEST_CODEC, init);
  if (!r.ok) throw r.error;
  return { host, events, info: r.value };
}

function frame(i: number): CodecFrame {
  return { data: Float32Array.from([i, i + 0.5]), ptsUs: i * 20_000 };
}

/** Resolves at the first event matching `pred` (already recorded or still to come). */
function nextEvent(
  host: CodecHost,
  events: CodecEvent[],
  pred: (e: CodecEvent) => boolean,
): Promise<CodecEvent> {
  const seen = events.find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const off = host.subscribe((e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

const outputs = (events: CodecEvent[]) =>
  events.flatMap((e) =>
    e.type === 'output' ? e.frames.map((f) => [...(f.data as Float32Array)]) : [],
  );

describe.each(HOSTS)('CodecHost contract: $name', (hc) => {
  // Wedges and exits only for hosts that isolate the codec (inline would take the test with it).
  const isolatedIt = hc.isolated ? it : () => {};
  it('[C2] start reports the codec info; frames come back in order, every input acknowledged; end → done', async () => {
    const { host, events, info } = await started(hc, { mode: 'echo' });
    expect(info.mode).toBe('echo');
    for (let i = 0; i < 3; i++) host.push(frame(i));
    await nextEvent(host, events, (e) => e.type === 'output'); // a second batch, on a later turn
    host.push(frame(3));
    host.push(frame(4));
    host.end();
    await nextEvent(host, events, (e) => e.type === 'done');
    expect(outputs(events)).toEqual([0, 1, 2, 3, 4].map((i) => [i, i + 0.5]));
    const acks = events.flatMap((e) => (e.type === 'output' ? [e.consumed] : []));
    expect(acks.reduce((a, b) => a + b, 0)).toBe(5);
    expect(acks.at(-1)).toBe(0); // the flush
    expect(events.at(-1)).toEqual({ type: 'done' });
    expect(host.progress).toBeGreaterThan(0);
  });

  it('[C2] a codec that buffers (lag) acknowledges every frame with no output and emits all at flush', async () => {
    const { host, events } = await started(hc, { mode: 'lag' });
    for (let i = 0; i < 3; i++) host.push(frame(i));
    host.end();
    await nextEvent(host, events, (e) => e.type === 'done');
    const outs = events.flatMap((e) => (e.type === 'output' ? [e] : []));
    const beforeFlush = outs.slice(0, -1);
    expect(beforeFlush.reduce((n, e) => n + e.consumed, 0)).toBe(3);
    expect(beforeFlush.every((e) => e.frames.length === 0)).toBe(true);
    expect(outputs(events)).toEqual([0, 1, 2].map((i) => [i, i + 0.5]));
  });

  it('[C4] a codec that throws reports crashed with its message, once', async () => {
    const { host, events } = await started(hc, { mode: 'throw', at: 1 });
    host.push(frame(0));
    host.push(frame(1));
    host.push(frame(2));
    const crash = await nextEvent(host, events, (e) => e.type === 'crashed');
    expect(crash.type === 'crashed' && crash.error).toMatch(/test codec exploded/);
    expect(events.filter((e) => e.type === 'crashed')).toHaveLength(1);
    expect(outputs(events)).toEqual([[0, 0.5]]);
  });

  it('[C4] a codec whose create throws fails start with a value, not an exception', async () => {
    const host = hc.make();
    live.push(host);
    const r = await host.start(TEST_CODEC, { mode: 'start_throw' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/refused to start/);
  });

  it('a crash that happened before subscribing is replayed to a new subscriber', async () => {
    const { host, events } = await started(hc, { mode: 'throw' });
    host.push(frame(0));
    await nextEvent(host, events, (e) => e.type === 'crashed');
    const late: CodecEvent[] = [];
    host.subscribe((e) => late.push(e));
    expect(late).toEqual([expect.objectContaining({ type: 'crashed' })]);
  });

  it('terminate is idempotent and `exited` resolves', async () => {
    const { host } = await started(hc, { mode: 'echo' });
    await Promise.all([host.terminate(), host.terminate()]);
    await host.terminate();
    await expect(host.exited).resolves.toBeDefined();
  });

  isolatedIt(
    '[C3] terminate stops a codec wedged in an endless loop, and the thread/process is gone',
    async () => {
      const { host, events } = await started(hc, { mode: 'spin' });
      const before = host.progress;
      host.push(frame(0));
      await until(() => host.progress > before); // the codec's beat on entering the loop
      await host.terminate();
      await host.exited;
      expect(events.some((e) => e.type === 'crashed')).toBe(false);
      if (host instanceof ProcessCodecHost) expect(processAlive(host.pid!)).toBe(false);
    },
  );

  isolatedIt(
    '[C3] terminate stops a codec blocked in Atomics.wait (a stand-in for a blocking call)',
    async () => {
      const { host } = await started(hc, { mode: 'block' });
      host.push(frame(0));
      await host.terminate();
      const exit = await host.exited;
      if (host instanceof ProcessCodecHost) {
        expect(exit.signal).toBe('SIGKILL');
        expect(processAlive(host.pid!)).toBe(false);
      }
    },
  );

  isolatedIt(
    '[C4] a codec that calls process.exit reports crashed with the exit code',
    async () => {
      const { host, events } = await started(hc, { mode: 'exit' });
      host.push(frame(0));
      const crash = await nextEvent(host, events, (e) => e.type === 'crashed');
      expect(crash.type === 'crashed' && crash.error).toMatch(/code 3/);
    },
  );

  isolatedIt(
    '[C4] an uncaught error inside the codec reports crashed with its message',
    async () => {
      const { host, events } = await started(hc, { mode: 'throw_uncaught' });
      host.push(frame(0));
      const crash = await nextEvent(host, events, (e) => e.type === 'crashed');
      expect(crash.type === 'crashed' && crash.error).toMatch(/uncaught test codec error/);
    },
  );
});

describe('host specifics', () => {
  it('[C1] the worker host transfers an owned buffer and copies a shared one, so a fan-out packet stays intact', async () => {
    const { host, events } = await started(HOSTS[0]!, { mode: 'echo' });
    const owned = Float32Array.from([1, 2]);
    const shared = Float32Array.from([3, 4]);
    host.push({ data: owned }, { transfer: true });
    host.push({ data: shared });
    host.end();
    await nextEvent(host, events, (e) => e.type === 'done');
    expect(owned.byteLength).toBe(0); // detached: handed to the thread, not copied
    expect([...shared]).toEqual([3, 4]);
    expect(outputs(events)).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('[C4] a process killed from outside reports crashed with the signal', async () => {
    const { host, events } = await started(HOSTS[1]!, { mode: 'echo' });
    process.kill((host as ProcessCodecHost).pid!, 'SIGKILL');
    const crash = await nextEvent(host, events, (e) => e.type === 'crashed');
    expect(crash.type === 'crashed' && crash.error).toMatch(/SIGKILL/);
  });

  it('a codec given as a function runs inline, and the thread and process hosts refuse it with a value', async () => {
    const spec = {
      name: 'fn',
      create: () => ({ process: (f: CodecFrame) => [f], flush: () => [] }),
    };
    for (const host of [new WorkerCodecHost(), new ProcessCodecHost()]) {
      const r = await host.start(spec, {});
      expect(r.ok ? 'ok' : r.error.code).toBe('codec_not_portable');
      await host.terminate();
    }
    const inline = new InlineCodecHost();
    expect((await inline.start(spec, {})).ok).toBe(true);
  });
});
