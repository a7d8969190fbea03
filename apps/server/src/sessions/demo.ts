/**
 * The demo session created on a server's first start: a compositor over two colorbars
 * sources (picture in picture), a sine → gain → sink audio chain, and a small LLM chain on a
 * model generated into the data dir. Sizes are modest so an idle server stays cheap.
 */
import type { Pipeline } from '@patchbay/protocol';

/** The demo session's name. */
export const DEMO_SESSION_NAME = 'Demo: picture in picture, a tone and an LLM';
/** Marks, in the data dir, that the demo was created once (deleting it is then respected). */
export const DEMO_MARKER_FILE = '.demo-created';

/** Where the demo's generated model goes, relative to the data dir. */
export const DEMO_MODEL_DIR = 'models';

/**
 * The small LLM chain of the demo: a prompt (`text::input`) and a model (`llm::model`, the
 * generated tiny GGUF model at `modelPath`, relative to the data dir) into `llm::inference`,
 * whose streamed text lands in `text::output`. Demand `answer` to run it.
 */
export function demoTaskChain(modelPath: string): Pick<Pipeline, 'nodes' | 'connections'> {
  const link = (from: string, to: string, pin: string) => ({
    [`${from}.out->${to}.${pin}`]: {
      from: { node: from, pin: 'out' },
      to: { node: to, pin },
      mode: 'reliable' as const,
    },
  });
  return {
    nodes: {
      prompt: {
        kind: 'text::input',
        params: { text: 'once upon a' },
        position: { x: 0, y: 520 },
      },
      model: {
        kind: 'llm::model',
        params: { path: modelPath, context_size: 256 },
        position: { x: 0, y: 640 },
      },
      generate: {
        kind: 'llm::inference',
        params: { max_tokens: 24, temperature: 0 },
        position: { x: 320, y: 560 },
      },
      answer: { kind: 'text::output', params: {}, position: { x: 640, y: 560 } },
    },
    connections: {
      ...link('prompt', 'generate', 'input'),
      ...link('model', 'generate', 'model'),
      ...link('generate', 'answer', 'in'),
    },
  };
}

/** The demo pipeline; with `modelPath`, the LLM chain too. */
export function demoPipeline(modelPath?: string): Pipeline {
  const pipeline: Pipeline = {
    name: DEMO_SESSION_NAME,
    description: 'Two test sources composited, and a sine through a gain.',
    mode: 'dynamic',
    nodes: {
      bars_main: {
        kind: 'video::colorbars',
        params: { width: 640, height: 360, fps: 15 },
        position: { x: 0, y: 0 },
      },
      bars_inset: {
        kind: 'video::colorbars',
        params: { width: 320, height: 180, fps: 15 },
        position: { x: 0, y: 160 },
      },
      mix: {
        kind: 'video::compositor',
        params: {
          width: 640,
          height: 360,
          fps: 15,
          layers: {
            in_1: { rect: { x: 420, y: 230, width: 200, height: 112 }, opacity: 0.9 },
          },
        },
        position: { x: 320, y: 80 },
      },
      tone: {
        kind: 'audio::sine',
        params: { frequency_hz: 440, duration_ms: 0 },
        position: { x: 0, y: 360 },
      },
      volume: { kind: 'audio::gain', params: { gain: 0.5 }, position: { x: 320, y: 360 } },
      speaker: { kind: 'core::sink', params: {}, position: { x: 640, y: 360 } },
    },
    connections: {
      'bars_main.out->mix.in_0': {
        from: { node: 'bars_main', pin: 'out' },
        to: { node: 'mix', pin: 'in_0' },
        mode: 'reliable',
      },
      'bars_inset.out->mix.in_1': {
        from: { node: 'bars_inset', pin: 'out' },
        to: { node: 'mix', pin: 'in_1' },
        mode: 'reliable',
      },
      'tone.out->volume.in': {
        from: { node: 'tone', pin: 'out' },
        to: { node: 'volume', pin: 'in' },
        mode: 'reliable',
      },
      'volume.out->speaker.in': {
        from: { node: 'volume', pin: 'out' },
        to: { node: 'speaker', pin: 'in' },
        mode: 'reliable',
      },
    },
  };
  if (modelPath !== undefined) {
    const chain = demoTaskChain(modelPath);
    pipeline.description =
      'Two test sources composited, a sine through a gain, and a small LLM chain.';
    Object.assign(pipeline.nodes, chain.nodes);
    Object.assign(pipeline.connections, chain.connections);
  }
  return pipeline;
}
