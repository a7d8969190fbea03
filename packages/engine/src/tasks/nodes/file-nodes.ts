import { z } from 'zod';
import { ok } from '@patchbay/protocol';
import { defineTaskNode } from '../task-api';
import { FILE_STORE_SERVICE } from '../task-services';
import type { FileStore } from '../task-services';
import { utf8Decode } from '../utf8';
import { utf8Encode } from '../../nodes/io/oneshot-io';
import { onNode, service, toText } from './task-values';

export const fileReadNode = defineTaskNode({
  kind: 'file::read',
  description:
    'Reads a UTF-8 text file from the data directory (relative paths only; traversal is refused).',
  params: z.object({ path: z.string().default('') }),
  pathParams: ['path'],
  pins: () => ({ inputs: [], outputs: [{ name: 'out', type: 'text' }] }),
  // A file changes outside the graph: read it on every demand (downstream reruns only if it changed).
  cacheable: false,
  execute: async (_inputs, ctx) => {
    const store = service<FileStore>(
      ctx.services,
      FILE_STORE_SERVICE,
      'path_not_allowed',
      ctx.nodeId,
      'file store',
    );
    if (!store.ok) return store;
    const bytes = onNode(await store.value.read(ctx.params.path), ctx.nodeId);
    if (!bytes.ok) return bytes;
    return ok({ out: utf8Decode(bytes.value) });
  },
});

export const fileWriteNode = defineTaskNode({
  kind: 'file::write',
  description:
    'Writes its input (text, or JSON for other values) to a file in the data directory; outputs {path, bytes}.',
  params: z.object({ path: z.string().default('') }),
  pathParams: ['path'],
  pins: () => ({
    inputs: [{ name: 'in', type: 'any' }],
    outputs: [{ name: 'out', type: 'json' }],
  }),
  cacheable: false,
  execute: async (inputs, ctx) => {
    const store = service<FileStore>(
      ctx.services,
      FILE_STORE_SERVICE,
      'path_not_allowed',
      ctx.nodeId,
      'file store',
    );
    if (!store.ok) return store;
    const data = utf8Encode(toText(inputs.in));
    const written = onNode(await store.value.write(ctx.params.path, data), ctx.nodeId);
    if (!written.ok) return written;
    return ok({ out: { path: ctx.params.path, bytes: data.length } });
  },
});
