import { z } from 'zod';
import { ConnectionModeSchema } from './pins';

/** Node ids and pin names: safe in YAML keys, URLs and metric labels. */
export const NodeIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z_][A-Za-z0-9_\-.]*$/,
    'ids start with a letter or _ and use letters, digits, _ - .',
  );
export const PinNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/);

export const PositionSchema = z.object({ x: z.number(), y: z.number() });
export type Position = z.infer<typeof PositionSchema>;

export const PipelineModeSchema = z.enum(['dynamic', 'oneshot']);
export type PipelineMode = z.infer<typeof PipelineModeSchema>;

export const PipelineNodeSchema = z.object({
  kind: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
  position: PositionSchema.optional(),
});
export type PipelineNode = z.infer<typeof PipelineNodeSchema>;

export const EndpointSchema = z.object({ node: NodeIdSchema, pin: PinNameSchema });
export type Endpoint = z.infer<typeof EndpointSchema>;

export const ConnectionSchema = z.object({
  from: EndpointSchema,
  to: EndpointSchema,
  mode: ConnectionModeSchema.default('reliable'),
});
export type Connection = z.infer<typeof ConnectionSchema>;

/** The durable pipeline: what the shared document holds and YAML exports (no runtime state). */
export const PipelineSchema = z.object({
  name: z.string().optional(),
  description: z.string().optional(),
  mode: PipelineModeSchema.default('dynamic'),
  nodes: z.record(NodeIdSchema, PipelineNodeSchema),
  /** Keyed by `connectionId(c)`, so concurrent adds merge and equality ignores order. */
  connections: z.record(z.string(), ConnectionSchema),
});
export type Pipeline = z.infer<typeof PipelineSchema>;

/** The canonical id of a connection: one per (from pin, to pin) pair. */
export function connectionId(c: { from: Endpoint; to: Endpoint }): string {
  return `${c.from.node}.${c.from.pin}->${c.to.node}.${c.to.pin}`;
}

export function emptyPipeline(mode: PipelineMode = 'dynamic'): Pipeline {
  return { mode, nodes: {}, connections: {} };
}
