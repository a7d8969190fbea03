import { z } from 'zod';

/** What travels on a pin (E16). `any` connects to everything. */
export const PinType = {
  raw_audio: 'raw_audio',
  opus: 'opus',
  raw_video: 'raw_video',
  encoded_video: 'encoded_video',
  text: 'text',
  json: 'json',
  binary: 'binary',
  any: 'any',
} as const;
export type PinType = (typeof PinType)[keyof typeof PinType];
export const PinTypeSchema = z.enum([
  'raw_audio',
  'opus',
  'raw_video',
  'encoded_video',
  'text',
  'json',
  'binary',
  'any',
]);

/** E16: may an output of type `from` feed an input of type `to`? */
export function pinTypesCompatible(from: PinType, to: PinType): boolean {
  return from === to || from === 'any' || to === 'any';
}

export const PinSpecSchema = z.object({
  name: z.string(),
  type: PinTypeSchema,
  /** A dynamic family: `name` is the prefix (`in_`), pins `in_0`, `in_1`, … are made on connect. */
  family: z.boolean().optional(),
  description: z.string().optional(),
});
export type PinSpec = z.infer<typeof PinSpecSchema>;

export const ConnectionModeSchema = z.enum(['reliable', 'best_effort']);
export type ConnectionMode = z.infer<typeof ConnectionModeSchema>;

const FAMILY_MEMBER = /^(.*_)(\d+)$/;

/** Resolve a concrete pin name against a node's pin specs (static pins or family members). */
export function findPin(pins: readonly PinSpec[], name: string): PinSpec | undefined {
  const exact = pins.find((p) => !p.family && p.name === name);
  if (exact) return exact;
  const m = FAMILY_MEMBER.exec(name);
  if (!m) return pins.find((p) => p.family && (p.name === name || `${p.name}*` === name));
  return pins.find((p) => p.family && p.name === m[1]);
}

/** The index of a family member (`in_3` → 3), or undefined. */
export function familyIndex(name: string): number | undefined {
  const m = FAMILY_MEMBER.exec(name);
  return m ? Number(m[2]) : undefined;
}
