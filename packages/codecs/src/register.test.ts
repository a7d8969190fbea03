/**
 * C5 for every codec kind this package registers: each is made by defineCodecNode (the marker),
 * and each behaves as the shared finalize step says when its codec completes or crashes (a host
 * injected under the node, so the check does not depend on any one codec).
 */
import { describe, expect, it } from 'vitest';
import { NodeRegistry, createDefaultRegistry, defineNode, runOneshot } from '@patchbay/engine';
import type { Packet } from '@patchbay/engine';
import type { PinType } from '@patchbay/protocol';
import { ok } from '@patchbay/protocol';
import { z } from 'zod';
import { BaseCodecHost, CodecHostKind } from './codec-host';
import type { CodecFrame, CodecHost } from './codec-host';
import { isCodecNode } from './codec-node';
import { codecKindsRegistry, createCodecRegistry, registerCodecs } from './register';
import { addCollector, nodeClock, pipeline } from './testing/helpers';

/** A host that runs no codec: it echoes each frame, or crashes on the first one. */
class ScriptedHost extends BaseCodecHost {
  readonly kind = CodecHostKind.inline;
  #progress = 0;
  constructor(readonly script: 'echo' | 'crash') {
    super();
  }
  get progress() {
    return this.#progress;
  }
  async start() {
    return ok({});
  }
  push(frame: CodecFrame) {
    queueMicrotask(() => {
      this.#progress++;
      if (this.script === 'crash') this.emit({ type: 'crashed', error: 'scripted crash' });
      else this.emit({ type: 'output', frames: [frame], consumed: 1 });
    });
  }
  end() {
    queueMicrotask(() => this.emit({ type: 'done' }));
  }
  async terminate() {
    this.exitedWith({ code: 0, signal: null });
  }
}

/** A source of two packets of the given pin type (encoded video in `codec`). */
function sourceFor(type: PinType, codec: string) {
  return defineNode({
    kind: `test::source_${type}`,
    description: `two ${type} packets`,
    params: z.object({}),
    pins: () => ({ inputs: [], outputs: [{ name: 'out', type }] }),
    create: () => ({
      async run(ctx) {
        for (let i = 0; i < 2; i++) {
          const packet: Packet = packetOf(type, i, codec);
          await ctx.send('out', packet);
        }
        return 'completed';
      },
    }),
  });
}

/** Packet `i` of a stream of the given pin type (small; the scripted host never decodes it). */
function packetOf(type: PinType, i: number, codec: string): Packet {
  switch (type) {
    case 'raw_audio':
      return {
        type: 'audio',
        sampleRate: 48_000,
        channels: 1,
        samples: new Float32Array(960),
        ptsUs: i * 20_000,
      };
    case 'opus':
      return {
        type: 'opus',
        data: Uint8Array.from([0xf8, 0xff, 0xfe]),
        ptsUs: i * 20_000,
        durationUs: 20_000,
      };
    case 'raw_video':
      return {
        type: 'video',
        width: 16,
        height: 16,
        data: new Uint8Array(16 * 16 * 4),
        ptsUs: i * 33_333,
      };
    case 'encoded_video':
      return {
        type: 'encoded_video',
        codec,
        data: Uint8Array.from([0x82, 0x49, 0x83, 0x42]),
        keyframe: i === 0,
        ptsUs: i * 33_333,
      };
    default:
      throw new Error(`no test packet for pin type ${type}`);
  }
}

const CODEC_KINDS = codecKindsRegistry().kinds();

describe('[C5] every codec kind goes through the shared finalize step', () => {
  it('[C5] registerCodecs adds the Opus, VP8 and VP9 encoders and decoders and the Ogg and WebM muxers, and every kind it adds is a codec node', () => {
    expect(CODEC_KINDS).toEqual([
      'audio::opus::decoder',
      'audio::opus::encoder',
      'containers::ogg::muxer',
      'containers::webm::muxer',
      'video::vp8::decoder',
      'video::vp8::encoder',
      'video::vp9::decoder',
      'video::vp9::encoder',
    ]);
    const registry = registerCodecs(new NodeRegistry());
    for (const kind of registry.kinds()) expect(isCodecNode(registry.get(kind)), kind).toBe(true);
    // The combined registry keeps the engine's kinds and lists each codec kind with a schema.
    const all = createCodecRegistry();
    expect(all.kinds()).toEqual(
      expect.arrayContaining([...createDefaultRegistry().kinds(), ...CODEC_KINDS]),
    );
    for (const info of all.list().filter((k) => CODEC_KINDS.includes(k.kind))) {
      expect((info.paramsSchema as { type?: string }).type, info.kind).toBe('object');
    }
  });

  for (const kind of CODEC_KINDS) {
    for (const script of ['echo', 'crash'] as const) {
      it(`[C5] ${kind}: a codec that ${script === 'echo' ? 'completes → stopped{input_closed}, success' : 'crashes → failed naming the node, output truncated, run error'}`, async () => {
        const hosts: CodecHost[] = [];
        const registry = registerCodecs(new NodeRegistry(), {
          createHost: () => {
            const h = new ScriptedHost(script);
            hosts.push(h);
            return h;
          },
        });
        addCollector(registry);
        const def = registry.get(kind)!;
        const inputType = def.pins(def.params.parse({})).inputs[0]!.type;
        registry.register(sourceFor(inputType, kind.startsWith('video::vp8') ? 'vp8' : 'vp9'));
        const r = await runOneshot(
          pipeline(
            [
              ['src', `test::source_${inputType}`],
              ['codec', kind],
              ['sink', 'test::collect'],
            ],
            ['src>codec', 'codec>sink'],
          ),
          { registry, clock: nodeClock() },
        );
        expect(hosts).toHaveLength(1);
        if (script === 'echo') {
          expect(r.ok).toBe(true);
          expect(r.states.codec).toEqual({ status: 'stopped', reason: 'input_closed' });
        } else {
          expect(r.ok).toBe(false);
          expect(r.states.codec).toEqual({
            status: 'failed',
            reason: `node codec (${kind}): codec ${codecName(kind)} crashed (scripted crash) after 0 output frames; output truncated`,
          });
        }
      });
    }
  }
});

function codecName(kind: string): string {
  return {
    'audio::opus::encoder': 'opus-encoder',
    'audio::opus::decoder': 'opus-decoder',
    'containers::ogg::muxer': 'ogg-opus-muxer',
    'video::vp9::encoder': 'libvpx-vp9',
    'video::vp9::decoder': 'vp9-decoder',
    'video::vp8::encoder': 'libvpx-vp8',
    'video::vp8::decoder': 'vp8-decoder',
    'containers::webm::muxer': 'webm-muxer',
  }[kind]!;
}
