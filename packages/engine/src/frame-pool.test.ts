import { describe, expect, it } from 'vitest';
import { Channel } from './channel';
import { FramePool, releasePacket } from './frame-pool';
import type { VideoPacket } from './packets';

function frame(pool: FramePool, bytes = 16): VideoPacket {
  const lease = pool.acquire(bytes);
  return { type: 'video', width: 2, height: 2, data: lease.data, ptsUs: 0, lease };
}

describe('FramePool', () => {
  it('a buffer comes back only after its last reference is released', () => {
    const pool = new FramePool();
    const a = pool.acquire(16);
    a.retain();
    a.release();
    expect(pool.acquire(16).data).not.toBe(a.data);
    a.release();
    expect(a.refs).toBe(0);
    expect(pool.acquire(16).data).toBe(a.data);
    expect(pool.counts).toEqual({ allocated: 2, reused: 1 });
  });

  it('extra releases after the return do nothing, so a buffer is never handed out twice', () => {
    const pool = new FramePool();
    const a = pool.acquire(16);
    a.release();
    a.release();
    a.retain();
    const b = pool.acquire(16);
    const c = pool.acquire(16);
    expect(b.data).toBe(a.data);
    expect(c.data).not.toBe(b.data);
  });

  it('a kept lease never returns, whatever is released after', () => {
    const pool = new FramePool();
    const a = pool.acquire(16);
    a.retain();
    a.keep();
    a.release();
    a.release();
    expect(pool.acquire(16).data).not.toBe(a.data);
  });

  it('sizes are pooled apart and at most maxFreePerSize buffers are kept per size', () => {
    const pool = new FramePool(2);
    const leases = [pool.acquire(16), pool.acquire(16), pool.acquire(16), pool.acquire(32)];
    for (const l of leases) l.release();
    const again = [pool.acquire(16), pool.acquire(16), pool.acquire(16), pool.acquire(32)];
    expect(pool.counts.reused).toBe(3);
    expect(again[3]!.data.byteLength).toBe(32);
  });

  it('a transferred (detached) buffer is not kept', () => {
    const pool = new FramePool();
    const a = pool.acquire(16);
    const { structuredClone } = globalThis as unknown as {
      structuredClone: (v: unknown, o: { transfer: ArrayBuffer[] }) => unknown;
    };
    structuredClone(a.data.buffer, { transfer: [a.data.buffer as ArrayBuffer] });
    expect(a.data.byteLength).toBe(0);
    a.release();
    expect(pool.acquire(16).data.byteLength).toBe(16);
    expect(pool.counts.reused).toBe(0);
  });

  it('a link queue holds a reference until the consumer releases, or until the link is detached', () => {
    const pool = new FramePool();
    const ch = new Channel('reliable', 4);
    const p = frame(pool);
    expect(ch.offer(p)).toBe('queued');
    p.lease!.release(); // the producer is done
    expect(p.lease!.refs).toBe(1);
    releasePacket(ch.take()!);
    expect(p.lease!.refs).toBe(0);

    const q = frame(pool);
    ch.offer(q);
    q.lease!.release();
    ch.detach();
    expect(q.lease!.refs).toBe(0);
  });
});
