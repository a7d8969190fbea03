import { z } from 'zod';
import { ConnectionModeSchema } from './pins';
import { NodeIdSchema, PinNameSchema, PositionSchema } from './pipeline';

/** The client's stamp on an edit (S2): its connection nonce and its revision of that node. */
export const EditStampSchema = z.object({
  sender: z.string().uuid(),
  rev: z.number().int().nonnegative(),
});
export type EditStamp = z.infer<typeof EditStampSchema>;

/** A connect may leave the input pin open: a family (`in_`) then gets its next member. */
export const ConnectEndpointSchema = z.object({
  node: NodeIdSchema,
  pin: PinNameSchema.optional(),
});

/** The engine's graph operations: single requests and the items of a batch (E15). */
export const AddNodeOpSchema = z.object({
  op: z.literal('add_node'),
  id: NodeIdSchema,
  kind: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
  position: PositionSchema.optional(),
});
export const RemoveNodeOpSchema = z.object({ op: z.literal('remove_node'), id: NodeIdSchema });
export const ConnectOpSchema = z.object({
  op: z.literal('connect'),
  from: ConnectEndpointSchema,
  to: ConnectEndpointSchema,
  mode: ConnectionModeSchema.default('reliable'),
});
export const DisconnectOpSchema = z.object({
  op: z.literal('disconnect'),
  from: z.object({ node: NodeIdSchema, pin: PinNameSchema }),
  to: z.object({ node: NodeIdSchema, pin: PinNameSchema }),
});
export const TuneOpSchema = z.object({
  op: z.literal('tune'),
  id: NodeIdSchema,
  /** A partial update: keys given replace, keys absent stay. */
  params: z.record(z.string(), z.unknown()),
  stamp: EditStampSchema.optional(),
});

export const GraphOpSchema = z.discriminatedUnion('op', [
  AddNodeOpSchema,
  RemoveNodeOpSchema,
  ConnectOpSchema,
  DisconnectOpSchema,
  TuneOpSchema,
]);
export type GraphOp = z.infer<typeof GraphOpSchema>;
export type GraphOpInput = z.input<typeof GraphOpSchema>;
export type AddNodeOp = z.infer<typeof AddNodeOpSchema>;
export type RemoveNodeOp = z.infer<typeof RemoveNodeOpSchema>;
export type ConnectOp = z.infer<typeof ConnectOpSchema>;
export type DisconnectOp = z.infer<typeof DisconnectOpSchema>;
export type TuneOp = z.infer<typeof TuneOpSchema>;
