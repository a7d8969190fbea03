import { z } from 'zod';
import { defineNode } from '../../node-api';
import type { Packet } from '../../packets';

/** Consumes and discards packets, counting them (`packets`, `bytes`). */
export const sinkNode = defineNode({
  kind: 'core::sink',
  description: 'Consumes and discards packets; counts packets and bytes.',
  params: z.object({}),
  pins: () => ({ inputs: [{ name: 'in', type: 'any' }], outputs: [] }),
  create: () => ({
    async run(ctx) {
      let packets = 0;
      let bytes = 0;
      for (let ev = await ctx.recv(); ev; ev = await ctx.recv()) {
        if (ev.type !== 'packet') continue;
        packets++;
        bytes += packetBytes(ev.packet);
        ctx.stats({ packets, bytes });
      }
      return 'input_closed';
    },
  }),
});

/** Payload size of a packet in bytes (text counted as UTF-16 code units × 2 is not needed here). */
export function packetBytes(p: Packet): number {
  switch (p.type) {
    case 'audio':
      return p.samples.byteLength;
    case 'video':
    case 'opus':
    case 'encoded_video':
    case 'binary':
      return p.data.byteLength;
    case 'text':
      return p.text.length;
    case 'json':
      return 0;
  }
}
