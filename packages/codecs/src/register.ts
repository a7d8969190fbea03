import { NodeRegistry, createDefaultRegistry } from '@patchbay/engine';
import { defineCodecNode } from './codec-node';
import type { CodecNodeOptions } from './codec-node';
import { oggMuxerSpec } from './ogg/ogg-muxer-node';
import { opusDecoderSpec, opusEncoderSpec } from './opus/opus-nodes';
import { vp8DecoderSpec, vp8EncoderSpec, vp9DecoderSpec, vp9EncoderSpec } from './vpx/vpx-nodes';
import { webmMuxerSpec } from './webm/webm-muxer-node';

/** Adds every codec node kind of this package to `registry` (each through `defineCodecNode`). */
export function registerCodecs(
  registry: NodeRegistry,
  options: CodecNodeOptions = {},
): NodeRegistry {
  return registry
    .register(defineCodecNode(opusEncoderSpec, options))
    .register(defineCodecNode(opusDecoderSpec, options))
    .register(defineCodecNode(oggMuxerSpec, options))
    .register(defineCodecNode(vp9EncoderSpec, options))
    .register(defineCodecNode(vp9DecoderSpec, options))
    .register(defineCodecNode(vp8EncoderSpec, options))
    .register(defineCodecNode(vp8DecoderSpec, options))
    .register(defineCodecNode(webmMuxerSpec, options));
}

/** The engine's built-in kinds plus every codec kind: what a Node host (CLI, server, bench) runs. */
export function createCodecRegistry(options: CodecNodeOptions = {}): NodeRegistry {
  return registerCodecs(createDefaultRegistry(), options);
}

/** Only the codec kinds (for listing and checking them). */
export function codecKindsRegistry(options: CodecNodeOptions = {}): NodeRegistry {
  return registerCodecs(new NodeRegistry(), options);
}
