// @ts-check
/**
 * The codec side of the host protocol, shared by the worker and the child-process entries so a
 * codec module behaves the same in either host. Plain JavaScript on purpose: threads and child
 * processes start it directly, from a fresh clone, with no build step and no TypeScript loader.
 *
 * host → codec: {type:'start', module, init} · {type:'input', frames} · {type:'end'}
 * codec → host: {type:'ready', info} · {type:'start_failed', error} · {type:'output', frames, consumed}
 *               · {type:'done'} · {type:'error', error}
 * Every `input` (a batch of frames) is answered by one `output` whose `consumed` is the batch's
 * length, with every frame the codec made for it (maybe none: an encoder may buffer); `end` is
 * answered by the flush's `output` (`consumed: 0`) and `done`. The heartbeat moves per frame.
 */

/**
 * @typedef {import('../codec-host').CodecFrame} CodecFrame
 * @typedef {import('../codec-host').CodecInstance} CodecInstance
 * @typedef {{ post(msg: object, transfer?: ArrayBuffer[]): void; listen(fn: (msg: any) => void): void; beat(): void }} CodecPort
 */

/** @param {CodecPort} port */
export function serveCodec(port) {
  /** @type {CodecInstance | undefined} */
  let codec;
  let broken = false;
  // Messages are handled strictly in order, one at a time, even when the codec is async.
  /** @type {Promise<void>} */
  let chain = Promise.resolve();
  const env = { beat: () => port.beat() };

  /** @param {any} msg */
  async function handle(msg) {
    if (broken) return;
    try {
      switch (msg.type) {
        case 'start': {
          const mod = await import(msg.module);
          if (typeof mod.create !== 'function')
            throw new Error(`${msg.module} exports no create()`);
          codec = await mod.create(msg.init, env);
          port.post({ type: 'ready', info: codec?.info ?? {} });
          break;
        }
        case 'input': {
          const c = /** @type {CodecInstance} */ (codec);
          /** @type {CodecFrame[]} */
          const out = [];
          let done = 0;
          try {
            for (const frame of msg.frames) {
              for (const f of await c.process(frame)) out.push(f);
              port.beat();
              done++;
            }
          } finally {
            // What the codec made before a throw still goes out: the stream is cut there, not earlier.
            if (done < msg.frames.length && out.length > 0) postOutput(out, done);
          }
          postOutput(out, done);
          break;
        }
        case 'end': {
          const c = /** @type {CodecInstance} */ (codec);
          postOutput(await c.flush(), 0);
          await c.close?.();
          port.post({ type: 'done' });
          break;
        }
        default:
          throw new Error(`unknown message ${String(msg.type)}`);
      }
    } catch (err) {
      // After a throw the codec's state is unknown: report once and take no more input.
      broken = true;
      port.post({ type: msg.type === 'start' ? 'start_failed' : 'error', error: describe(err) });
    }
  }

  /** @param {CodecFrame[]} frames @param {number} consumed */
  function postOutput(frames, consumed) {
    /** @type {ArrayBuffer[]} */
    const transfer = [];
    const out = (frames ?? []).map((f) => {
      const data = ownBuffer(f.data);
      transfer.push(/** @type {ArrayBuffer} */ (data.buffer));
      return { ...f, data };
    });
    port.post({ type: 'output', frames: out, consumed }, transfer);
  }

  port.listen((msg) => {
    chain = chain.then(() => handle(msg));
  });
}

/**
 * A typed array that owns its whole (non-shared) buffer, so it can be transferred: a view into
 * a larger buffer (a WASM heap, a pool) is copied first.
 * @template {Uint8Array | Int16Array | Float32Array} T
 * @param {T} data
 * @returns {T}
 */
function ownBuffer(data) {
  const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  if (whole && !(data.buffer instanceof SharedArrayBuffer)) return data;
  return /** @type {T} */ (data.slice());
}

/** @param {unknown} err */
function describe(err) {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
