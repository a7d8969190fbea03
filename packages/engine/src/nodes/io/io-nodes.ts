import { z } from 'zod';
import { defineNode } from '../../node-api';
import type { Packet } from '../../packets';
import { ONESHOT_IO_SERVICE, utf8Encode } from './oneshot-io';
import type { OneshotIO } from './oneshot-io';

function oneshotIO(services: Record<string, unknown>): OneshotIO {
  const io = services[ONESHOT_IO_SERVICE] as OneshotIO | undefined;
  if (!io) throw new Error('this host binds no oneshot input/output');
  return io;
}

/** A oneshot run's input bytes (an HTTP multipart field or a CLI `--input NAME=FILE`). */
export const inputNode = defineNode({
  kind: 'io::input',
  description: 'Oneshot only: the bytes bound to `name` (HTTP field or CLI --input NAME=FILE).',
  oneshotOnly: true,
  params: z.object({ name: z.string().min(1).max(128).default('input') }),
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'binary' }] }),
  create: ({ params, services }) => {
    const source = oneshotIO(services).input(params.name);
    if (!source) throw new Error(`no input bound to name "${params.name}"`);
    return {
      async run(ctx) {
        let bytes = 0;
        for await (const chunk of source) {
          if (ctx.signal.stopped) break;
          bytes += chunk.byteLength;
          ctx.stats({ bytes });
          await ctx.send('out', { type: 'binary', data: chunk });
          await ctx.pace(0);
        }
        return 'completed';
      },
    };
  },
});

/** A oneshot run's output: packets become bytes in arrival order. */
export const outputNode = defineNode({
  kind: 'io::output',
  description: 'Oneshot only: writes what it receives to the HTTP response or the CLI output.',
  oneshotOnly: true,
  params: z.object({ content_type: z.string().default('application/octet-stream') }),
  pins: () => ({ inputs: [{ name: 'in', type: 'any' }], outputs: [] }),
  create: ({ services }) => {
    const io = oneshotIO(services);
    return {
      async run(ctx) {
        let bytes = 0;
        for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
          if (ev.type !== 'packet') continue;
          const chunk = packetToBytes(ev.packet);
          bytes += chunk.byteLength;
          await io.write(chunk);
          ctx.stats({ bytes });
        }
        return 'input_closed';
      },
    };
  },
});

/** How each packet type is written out: payload bytes, f32le PCM, UTF-8 text, JSON lines. */
export function packetToBytes(p: Packet): Uint8Array {
  switch (p.type) {
    case 'binary':
    case 'opus':
    case 'encoded_video':
    case 'video':
      return p.data;
    case 'audio':
      return new Uint8Array(p.samples.buffer, p.samples.byteOffset, p.samples.byteLength);
    case 'text':
      return utf8Encode(p.text);
    case 'json':
      return utf8Encode(`${JSON.stringify(p.value)}\n`);
  }
}
