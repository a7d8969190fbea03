import { describe, expect, it } from 'vitest';
import { PatchbayError } from './errors';
import { EditStampSchema } from './ops';
import { stripTransient } from './yaml';
import type { EditStamp } from './ops';
import {
  ClientStamper,
  EDIT_STAMPS_KEY,
  EMPTY_VECTOR,
  NonceSchema,
  VersionVectorSchema,
  ViewStampSchema,
  applyEditStamp,
  forgetSender,
  isNonce,
  isStaleForClient,
  mergeVectors,
  stampViewData,
  vectorEntry,
} from './stamping';
import type { VersionVector, ViewStamp } from './stamping';

/** mulberry32: small and seedable, so every run of a seed is the same run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A deterministic UUID v4 source. */
function uuidSource(r: () => number): () => string {
  return () => {
    const hex = (n: number) =>
      Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
    const variant = '89ab'[Math.floor(r() * 4)] ?? '8';
    return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
  };
}

/** A fixed list of nonces, handed out in order. */
function fixedSource(...nonces: string[]): () => string {
  let i = 0;
  return () => {
    const n = nonces[i++];
    if (n === undefined) throw new Error('fixedSource exhausted');
    return n;
  };
}

const NA = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const NA2 = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa2';
const NB = 'bbbbbbbb-bbbb-4bbb-9bbb-bbbbbbbbbbbb';
const NC = 'cccccccc-cccc-4ccc-accc-cccccccccccc';

const edit = (vector: VersionVector): ViewStamp => stampViewData(vector, 'edit');
const layout = (vector: VersionVector): ViewStamp => stampViewData(vector, 'layout');

describe('S1 connection nonce', () => {
  it('[S1] a stamper takes a UUID v4 nonce from the injected source', () => {
    const s = new ClientStamper(fixedSource(NA));
    expect(s.nonce).toBe(NA);
    expect(isNonce(s.nonce)).toBe(true);
  });

  it('[S1] nonces are normalised to lower case', () => {
    const s = new ClientStamper(fixedSource(NB.toUpperCase()));
    expect(s.nonce).toBe(NB);
  });

  it('[S1] a source that returns no UUID v4 is a bug and throws', () => {
    for (const bad of [
      '',
      'not-a-uuid',
      '00000000-0000-0000-0000-000000000000', // nil
      'aaaaaaaa-aaaa-1aaa-8aaa-aaaaaaaaaaaa', // v1
      'aaaaaaaa-aaaa-4aaa-caaa-aaaaaaaaaaaa', // wrong variant
      'aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa', // no dashes
      ` ${NA}`,
    ]) {
      expect(() => new ClientStamper(() => bad), bad).toThrow(PatchbayError);
      expect(isNonce(bad)).toBe(false);
      expect(NonceSchema.safeParse(bad).success).toBe(false);
    }
    expect(NonceSchema.safeParse(NA).success).toBe(true);
  });

  it('[S1] every reconnect has a new nonce and restarts every counter', () => {
    const s = new ClientStamper(fixedSource(NA, NA2));
    s.next('mix');
    s.next('mix');
    s.next('pip');
    expect(s.localRevision('mix')).toBe(2);
    const nonce = s.reconnect();
    expect(nonce).toBe(NA2);
    expect(s.nonce).toBe(NA2);
    expect(s.localRevision('mix')).toBe(0);
    expect(s.localRevision('pip')).toBe(0);
    expect(s.next('mix')).toEqual({ sender: NA2, rev: 1 });
  });

  it('[S1] reconnect may be given the new nonce directly', () => {
    const s = new ClientStamper(fixedSource(NA));
    s.next('n');
    expect(s.reconnect(NB)).toBe(NB);
    expect(s.next('n')).toEqual({ sender: NB, rev: 1 });
  });

  it('[S1] reusing a nonce (current or earlier) throws: restarted counters would be behind its old entry', () => {
    const s = new ClientStamper(fixedSource(NA));
    expect(() => s.reconnect(NA)).toThrow(/nonce reused/);
    expect(() => s.reconnect('nope')).toThrow(PatchbayError);
    // A refused reconnect leaves the connection as it was.
    expect(s.nonce).toBe(NA);
    s.reconnect(NB);
    expect(() => s.reconnect(NA.toUpperCase())).toThrow(/nonce reused/);
  });

  it('[S1] why: with a reused nonce, in-flight data without the new edits would be applied', () => {
    // The server's vector still holds the old connection's rev 5; a restarted counter is at 1.
    const old: VersionVector = { [NA]: 5 };
    expect(isStaleForClient(edit(old), NA, 1)).toBe(false); // would snap back: hence a new nonce
    expect(isStaleForClient(edit(old), NA2, 1)).toBe(true); // with a new nonce it is dropped
  });

  it('[S1] generated nonces are distinct across many connections', () => {
    const s = new ClientStamper(uuidSource(rng(1)));
    const seen = new Set([s.nonce]);
    for (let i = 0; i < 500; i++) seen.add(s.reconnect());
    expect(seen.size).toBe(501);
  });
});

describe('S2 a stamp per edit', () => {
  it('[S2] next() bumps the node revision by one and returns (sender, rev)', () => {
    const s = new ClientStamper(fixedSource(NA));
    expect(s.localRevision('mix')).toBe(0);
    expect(s.next('mix')).toEqual({ sender: NA, rev: 1 });
    expect(s.next('mix')).toEqual({ sender: NA, rev: 2 });
    expect(s.localRevision('mix')).toBe(2);
  });

  it('[S2] revisions are per node and strictly increasing', () => {
    const s = new ClientStamper(fixedSource(NA));
    const r = rng(7);
    const last: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const node = ['a', 'b', 'c'][Math.floor(r() * 3)] ?? 'a';
      const stamp = s.next(node);
      expect(stamp.rev).toBe((last[node] ?? 0) + 1);
      last[node] = stamp.rev;
      expect(s.localRevision(node)).toBe(stamp.rev);
    }
  });

  it('[S2] stamps are valid wire EditStamps', () => {
    const s = new ClientStamper(uuidSource(rng(3)));
    expect(EditStampSchema.parse(s.next('n'))).toEqual({ sender: s.nonce, rev: 1 });
  });

  it('[S2][S3] stamps live under a _-prefixed per-sender key, so the durable model strips them', () => {
    expect(EDIT_STAMPS_KEY.startsWith('_')).toBe(true);
    const s = new ClientStamper(fixedSource(NA));
    const { sender, rev } = s.next('mix');
    const params = { width: 640, [EDIT_STAMPS_KEY]: { [sender]: rev } };
    expect(stripTransient(params)).toEqual({ width: 640 });
  });
});

describe('S4 version vector', () => {
  it('[S4] records the revision of each sender', () => {
    let v = EMPTY_VECTOR;
    v = applyEditStamp(v, { sender: NA, rev: 1 });
    v = applyEditStamp(v, { sender: NB, rev: 1 });
    v = applyEditStamp(v, { sender: NA, rev: 2 });
    expect(v).toEqual({ [NA]: 2, [NB]: 1 });
  });

  it('[S4] keeps the maximum: an out-of-order stamp never moves an entry back', () => {
    let v = EMPTY_VECTOR;
    v = applyEditStamp(v, { sender: NA, rev: 3 });
    const after3 = v;
    v = applyEditStamp(v, { sender: NA, rev: 2 });
    v = applyEditStamp(v, { sender: NA, rev: 3 });
    expect(v).toBe(after3); // unchanged: same object
    expect(v).toEqual({ [NA]: 3 });
    v = applyEditStamp(v, { sender: NA, rev: 4 });
    expect(v).toEqual({ [NA]: 4 });
  });

  it('[S4] any order of the same stamps gives the same vector', () => {
    const stamps: EditStamp[] = [
      { sender: NA, rev: 1 },
      { sender: NA, rev: 4 },
      { sender: NB, rev: 2 },
      { sender: NA, rev: 2 },
      { sender: NC, rev: 1 },
      { sender: NB, rev: 1 },
    ];
    const r = rng(11);
    for (let round = 0; round < 50; round++) {
      const shuffled = [...stamps].sort(() => r() - 0.5);
      const v = shuffled.reduce<VersionVector>((acc, s) => applyEditStamp(acc, s), EMPTY_VECTOR);
      expect(v).toEqual({ [NA]: 4, [NB]: 2, [NC]: 1 });
    }
  });

  it('[S4] an edit without a stamp leaves the vector unchanged and never inherits a stamp', () => {
    const v = applyEditStamp(EMPTY_VECTOR, { sender: NA, rev: 5 });
    expect(applyEditStamp(v, undefined)).toBe(v);
    expect(applyEditStamp(EMPTY_VECTOR, undefined)).toEqual({});
    // The unstamped (server-side) edit's view data is stamped with the vector as it was:
    // it claims no sender's later revision.
    const stamp = stampViewData(applyEditStamp(v, undefined), 'edit');
    expect(stamp.vector).toEqual({ [NA]: 5 });
  });

  it('[S4] applying is pure: the input vector is not modified', () => {
    const v: VersionVector = Object.freeze({ [NA]: 1 });
    const w = applyEditStamp(v, { sender: NA, rev: 2 });
    expect(v).toEqual({ [NA]: 1 });
    expect(w).toEqual({ [NA]: 2 });
    expect(EMPTY_VECTOR).toEqual({});
  });

  it('[S4] rev 0 adds no entry', () => {
    expect(applyEditStamp(EMPTY_VECTOR, { sender: NA, rev: 0 })).toBe(EMPTY_VECTOR);
  });

  it('[S4] mergeVectors is the entry-wise max, commutative and idempotent', () => {
    const a: VersionVector = { [NA]: 3, [NB]: 1 };
    const b: VersionVector = { [NB]: 4, [NC]: 2 };
    expect(mergeVectors(a, b)).toEqual({ [NA]: 3, [NB]: 4, [NC]: 2 });
    expect(mergeVectors(b, a)).toEqual(mergeVectors(a, b));
    expect(mergeVectors(a, a)).toBe(a);
    expect(mergeVectors(a, EMPTY_VECTOR)).toBe(a);
  });

  it('[S4] forgetSender drops a closed connection’s entry', () => {
    const v: VersionVector = { [NA]: 3, [NB]: 1 };
    expect(forgetSender(v, NA)).toEqual({ [NB]: 1 });
    expect(forgetSender(v, NC)).toBe(v);
  });

  it('[S4] vectorEntry reads own entries only', () => {
    const parsed = VersionVectorSchema.parse(JSON.parse(`{"${NA}": 2}`));
    expect(vectorEntry(parsed, NA)).toBe(2);
    expect(vectorEntry(parsed, NB)).toBe(0);
    expect(vectorEntry(parsed, 'constructor')).toBe(0);
    expect(vectorEntry(parsed, 'toString')).toBe(0);
  });

  it('[S4] view stamps round-trip through the wire schema', () => {
    const stamp = stampViewData({ [NA]: 5, [NB]: 2 }, 'edit');
    const back: ViewStamp = ViewStampSchema.parse(JSON.parse(JSON.stringify(stamp)));
    expect(back).toEqual(stamp);
    expect(ViewStampSchema.safeParse({ vector: { [NA]: -1 }, cause: 'edit' }).success).toBe(false);
    expect(ViewStampSchema.safeParse({ vector: { [NA]: 1.5 }, cause: 'edit' }).success).toBe(false);
    expect(ViewStampSchema.safeParse({ vector: { someone: 1 }, cause: 'edit' }).success).toBe(
      false,
    );
    expect(ViewStampSchema.safeParse({ vector: {}, cause: 'other' }).success).toBe(false);
  });
});

describe('S5 layout changes', () => {
  it('[S5] layout-caused view data is never stale, whatever the vector and local revision', () => {
    for (const vector of [EMPTY_VECTOR, { [NA]: 1 }, { [NB]: 99 }]) {
      for (const local of [0, 1, 5, 1000]) {
        expect(isStaleForClient(layout(vector), NA, local)).toBe(false);
      }
    }
  });

  it('[S5] a client mid-edit still applies a layout change (e.g. an input pin added)', () => {
    const s = new ClientStamper(fixedSource(NA));
    for (let i = 0; i < 5; i++) s.next('mix');
    const v = applyEditStamp(EMPTY_VECTOR, { sender: NA, rev: 2 }); // server is behind
    expect(s.isStale('mix', edit(v))).toBe(true);
    expect(s.isStale('mix', layout(v))).toBe(false);
  });

  it('[S5] the stamp keeps its cause: layout is not disguised as the last sender’s edit', () => {
    const v = applyEditStamp(EMPTY_VECTOR, { sender: NB, rev: 3 });
    expect(stampViewData(v, 'layout')).toEqual({ vector: { [NB]: 3 }, cause: 'layout' });
  });
});

describe('S6 staleness per own nonce', () => {
  it('[S6] stale only when its own entry is below its local revision', () => {
    expect(isStaleForClient(edit({ [NA]: 4 }), NA, 5)).toBe(true);
    expect(isStaleForClient(edit({ [NA]: 5 }), NA, 5)).toBe(false);
    expect(isStaleForClient(edit({ [NA]: 6 }), NA, 5)).toBe(false);
    expect(isStaleForClient(edit({}), NA, 1)).toBe(true);
    expect(isStaleForClient(edit({}), NA, 0)).toBe(false); // never edited: nothing to protect
  });

  it('[S6] never stale because of another sender’s entry', () => {
    for (const other of [0, 1, 5, 100]) {
      expect(isStaleForClient(edit({ [NA]: 5, [NB]: other }), NA, 5)).toBe(false);
      expect(isStaleForClient(edit({ [NB]: other }), NA, 0)).toBe(false);
    }
  });

  it('[S6] two simultaneous editors: A keeps data with its rev 5, B (local 3) drops data with its rev 2; data with B’s 3 is kept by both', () => {
    const a = new ClientStamper(fixedSource(NA));
    const b = new ClientStamper(fixedSource(NB));
    const server = { vector: EMPTY_VECTOR };
    // A edits node N five times, B three times; the server has applied A 1..5 and B 1..2.
    const aStamps = Array.from({ length: 5 }, () => a.next('N'));
    const bStamps = Array.from({ length: 3 }, () => b.next('N'));
    for (const st of [...aStamps, bStamps[0], bStamps[1]])
      server.vector = applyEditStamp(server.vector, st);
    const first = stampViewData(server.vector, 'edit');
    expect(first.vector).toEqual({ [NA]: 5, [NB]: 2 });
    expect(a.localRevision('N')).toBe(5);
    expect(b.localRevision('N')).toBe(3);
    expect(a.isStale('N', first)).toBe(false); // A keeps it
    expect(b.isStale('N', first)).toBe(true); // B drops it: it lacks B's rev 3

    server.vector = applyEditStamp(server.vector, bStamps[2]);
    const second = stampViewData(server.vector, 'edit');
    expect(second.vector).toEqual({ [NA]: 5, [NB]: 3 });
    expect(a.isStale('N', second)).toBe(false);
    expect(b.isStale('N', second)).toBe(false);
  });

  it('[S6] a node’s revision does not affect another node’s staleness', () => {
    const s = new ClientStamper(fixedSource(NA));
    s.next('x');
    s.next('x');
    expect(s.isStale('y', edit(EMPTY_VECTOR))).toBe(false);
    expect(s.isStale('x', edit({ [NA]: 1 }))).toBe(true);
  });

  it('[S6] after a reconnect, data stamped with the old nonce does not hold the client back', () => {
    const s = new ClientStamper(fixedSource(NA, NA2));
    for (let i = 0; i < 5; i++) s.next('N');
    s.reconnect();
    expect(s.isStale('N', edit({ [NA]: 2 }))).toBe(false); // no edit on this connection yet
    s.next('N');
    expect(s.isStale('N', edit({ [NA]: 5 }))).toBe(true); // the old nonce's entry does not count
    expect(s.isStale('N', edit({ [NA]: 5, [NA2]: 1 }))).toBe(false);
  });
});

describe('[S4][S5][S6][S8] randomized simulation: clients editing one node, a server stamping view data', () => {
  interface SimClient {
    name: string;
    stamper: ClientStamper;
    /** Edits sent, not yet applied by the server (FIFO per connection, like a WebSocket). */
    uplink: EditStamp[];
    /** View data sent by the server, not yet delivered (FIFO per connection). */
    downlink: Delivery[];
    /** The `truth` of the last view data this client applied. */
    applied: Truth | undefined;
    appliedStamp: ViewStamp | undefined;
    /** Every nonce this client has had, newest last. */
    nonces: string[];
  }
  /** What the server had really applied when it computed a view data: max rev per sender. */
  type Truth = ReadonlyMap<string, number>;
  interface Delivery {
    stamp: ViewStamp;
    truth: Truth;
    seq: number;
  }

  const coverage = { applied: 0, dropped: 0, layout: 0, unstamped: 0, reconnects: 0 };

  function simulate(seed: number): void {
    const r = rng(seed);
    const nextUuid = uuidSource(r);
    const clientCount = 2 + Math.floor(r() * 2); // two or three clients
    const clients: SimClient[] = Array.from({ length: clientCount }, (_, i) => {
      const stamper = new ClientStamper(nextUuid);
      return {
        name: String.fromCharCode(65 + i),
        stamper,
        uplink: [],
        downlink: [],
        applied: undefined,
        appliedStamp: undefined,
        nonces: [stamper.nonce],
      };
    });
    // The server's state for the node: the vector (via the functions under test) and, kept
    // independently, the log of what it applied, from which the truth is computed.
    let vector = EMPTY_VECTOR;
    const appliedLog: EditStamp[] = [];
    let seq = 0;
    const truthNow = (): Truth => {
      const t = new Map<string, number>();
      for (const s of appliedLog) t.set(s.sender, Math.max(t.get(s.sender) ?? 0, s.rev));
      return t;
    };
    const emit = (cause: 'edit' | 'layout') => {
      const d: Delivery = { stamp: stampViewData(vector, cause), truth: truthNow(), seq: seq++ };
      for (const c of clients) c.downlink.push(d);
    };
    const fail = (msg: string): never => {
      throw new Error(`seed ${seed}: ${msg}`);
    };
    const receive = (c: SimClient, d: Delivery) => {
      const me = c.stamper.nonce;
      const local = c.stamper.localRevision('N');
      const containsMine = (d.truth.get(me) ?? 0) >= local;
      const stale = c.stamper.isStale('N', d.stamp);
      if (d.stamp.cause === 'layout') {
        if (stale) fail(`${c.name} dropped layout data #${d.seq} (S5)`);
      } else {
        // (a) never apply data older than its own latest edit
        if (!stale && !containsMine) {
          fail(
            `${c.name} applied #${d.seq} lacking its rev ${local} (has ${d.truth.get(me) ?? 0})`,
          );
        }
        // (b) never drop data that already contains its latest edit
        if (stale && containsMine)
          fail(`${c.name} dropped #${d.seq} that contains its rev ${local}`);
      }
      if (stale) coverage.dropped++;
      else coverage.applied++;
      if (d.stamp.cause === 'layout') coverage.layout++;
      if (!stale) {
        c.applied = d.truth;
        c.appliedStamp = d.stamp;
      }
    };

    const steps = 20 + Math.floor(r() * 200);
    for (let step = 0; step < steps; step++) {
      const c = clients[Math.floor(r() * clients.length)];
      if (c === undefined) continue;
      const roll = r();
      if (roll < 0.35) {
        // A client commits an edit: the stamp travels with it (S2).
        c.uplink.push(c.stamper.next('N'));
      } else if (roll < 0.65) {
        // The server applies the oldest pending edit of that connection, then emits view data.
        const stamp = c.uplink.shift();
        if (stamp === undefined) continue;
        vector = applyEditStamp(vector, stamp);
        appliedLog.push(stamp);
        emit('edit');
      } else if (roll < 0.9) {
        const d = c.downlink.shift();
        if (d !== undefined) receive(c, d);
      } else if (roll < 0.94) {
        // An edit with no stamp (e.g. a PUT of the pipeline): the vector must not change (S4).
        const before = vector;
        vector = applyEditStamp(vector, undefined);
        if (vector !== before) fail('an unstamped edit changed the vector');
        coverage.unstamped++;
        emit('edit');
      } else if (roll < 0.97) {
        // A layout change no edit caused: an input pin added (S5).
        emit('layout');
      } else {
        // Reconnect (S1): the old socket's undelivered view data is lost; edits already sent
        // still reach the server (they are in the shared document).
        c.downlink = [];
        c.nonces.push(c.stamper.reconnect());
        coverage.reconnects++;
        if (c.stamper.localRevision('N') !== 0) fail('reconnect kept a counter');
      }
    }

    // Quiesce: the server applies every pending edit, then everything in flight is delivered.
    for (const c of clients) {
      for (let s = c.uplink.shift(); s !== undefined; s = c.uplink.shift()) {
        vector = applyEditStamp(vector, s);
        appliedLog.push(s);
        emit('edit');
      }
    }
    for (const c of clients) {
      for (let d = c.downlink.shift(); d !== undefined; d = c.downlink.shift()) receive(c, d);
    }
    // (c) A final view data after every edit: every client applies it and all agree.
    emit('edit');
    const final = truthNow();
    for (const c of clients) {
      const d = c.downlink.shift();
      if (d === undefined) fail('final view data not queued');
      else receive(c, d);
      if (c.appliedStamp?.vector !== vector) fail(`${c.name} did not apply the final view data`);
      if (c.applied !== undefined && !sameTruth(c.applied, final))
        fail(`${c.name} did not converge`);
    }
    // The vector the functions built equals the independent record of what was applied.
    if (!sameTruth(new Map(Object.entries(vector)), final))
      fail('vector differs from the applied log');
  }

  function sameTruth(a: Truth, b: Truth): boolean {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (b.get(k) !== v) return false;
    return true;
  }

  it('[S6] holds for 500 seeded runs of two or three concurrent editors', () => {
    const base = 0x5eed;
    for (let i = 0; i < 500; i++) simulate(base + i);
    // The runs reach every branch: data applied and dropped, layout, unstamped edits, reconnects.
    for (const [what, n] of Object.entries(coverage)) expect(n, what).toBeGreaterThan(50);
  });

  it('[S6] the simulation catches a last-writer-only stamp (the reference bug)', () => {
    // Same staleness check, but the server keeps only the last sender's stamp: a client whose
    // edit was superseded by another's stamp wrongly drops data that contains its edit.
    let v: VersionVector = EMPTY_VECTOR;
    const lastWriterOnly = (stamp: EditStamp) => {
      v = { [stamp.sender]: stamp.rev };
    };
    lastWriterOnly({ sender: NA, rev: 5 });
    lastWriterOnly({ sender: NB, rev: 2 });
    expect(isStaleForClient(edit(v), NA, 5)).toBe(true); // A would wrongly drop this
    let good = EMPTY_VECTOR;
    good = applyEditStamp(good, { sender: NA, rev: 5 });
    good = applyEditStamp(good, { sender: NB, rev: 2 });
    expect(isStaleForClient(edit(good), NA, 5)).toBe(false);
  });
});
