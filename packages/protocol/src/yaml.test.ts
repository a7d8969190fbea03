import { describe, expect, test } from 'vitest';
import type { KindCatalog, KindEntry } from './catalog';
import { ErrorCode, err, ok } from './errors';
import type { Problem, Result } from './errors';
import type { PinSpec, PinType } from './pins';
import { connectionId } from './pipeline';
import type { Connection, Pipeline, PipelineNode } from './pipeline';
import {
  STREAMKIT_KIND_ALIASES,
  YAML_MAX_NESTING,
  exportPipelineYaml,
  importPipelineYaml,
  stripTransient,
  validatePipeline,
} from './yaml';

// ---------------------------------------------------------------------------------------------
// A small hand-made catalog (the engine's registry implements the real one).

type ParamType = 'number' | 'string' | 'boolean' | 'object' | 'array';
interface FakeKind {
  params: Record<string, { type: ParamType; default?: unknown }>;
  inputs?: (params: Record<string, unknown>) => PinSpec[];
  outputs?: (params: Record<string, unknown>) => PinSpec[];
}

const pin = (name: string, type: PinType): PinSpec => ({ name, type });
const family = (name: string, type: PinType): PinSpec => ({ name, type, family: true });

const KINDS: Record<string, FakeKind> = {
  'video::colorbars': {
    params: {
      width: { type: 'number', default: 640 },
      height: { type: 'number', default: 480 },
      fps: { type: 'number', default: 30 },
      frame_count: { type: 'number', default: 0 },
    },
    outputs: () => [pin('out', 'raw_video')],
  },
  'video::compositor': {
    params: {
      width: { type: 'number' },
      height: { type: 'number' },
      fps: { type: 'number' },
      layers: { type: 'object' },
    },
    inputs: () => [family('in_', 'raw_video')],
    outputs: () => [pin('out', 'raw_video')],
  },
  'audio::sine': {
    params: {
      frequency_hz: { type: 'number', default: 440 },
      duration_ms: { type: 'number' },
      sample_rate: { type: 'number' },
      channels: { type: 'number' },
    },
    outputs: () => [pin('out', 'raw_audio')],
  },
  'audio::gain': {
    params: { gain: { type: 'number', default: 1 } },
    inputs: () => [pin('in', 'raw_audio')],
    outputs: () => [pin('out', 'raw_audio')],
  },
  'audio::mixer': {
    params: { num_inputs: { type: 'number' } },
    inputs: () => [family('in_', 'raw_audio')],
    outputs: () => [pin('out', 'raw_audio')],
  },
  'audio::opus::encoder': {
    params: {},
    inputs: () => [pin('in', 'raw_audio')],
    outputs: () => [pin('out', 'opus')],
  },
  'audio::opus::decoder': {
    params: {},
    inputs: () => [pin('in', 'opus')],
    outputs: () => [pin('out', 'raw_audio')],
  },
  'containers::ogg::demuxer': {
    params: {},
    inputs: () => [pin('in', 'binary')],
    outputs: () => [pin('out', 'opus')],
  },
  'containers::ogg::muxer': {
    params: { channels: { type: 'number' }, chunk_size: { type: 'number' } },
    inputs: () => [pin('in', 'opus')],
    outputs: () => [pin('out', 'binary')],
  },
  'containers::webm::muxer': {
    params: {
      channels: { type: 'number' },
      chunk_size: { type: 'number' },
      sample_rate: { type: 'number' },
    },
    inputs: () => [pin('in', 'opus')],
    outputs: () => [pin('out', 'binary')],
  },
  'core::pacer': {
    params: { speed: { type: 'number' }, buffer_size: { type: 'number' } },
    inputs: () => [pin('in', 'any')],
    outputs: () => [pin('out', 'any')],
  },
  'core::passthrough': {
    params: {},
    inputs: () => [pin('in', 'any')],
    outputs: () => [pin('out', 'any')],
  },
  'core::sink': { params: {}, inputs: () => [pin('in', 'any')] },
  'io::input': {
    params: { name: { type: 'string' }, fields: { type: 'array' } },
    // StreamKit's http_input grows one output per declared upload field.
    outputs: (p) => [
      pin('out', 'binary'),
      ...(Array.isArray(p.fields) ? p.fields : []).map((f) =>
        pin(String((f as { name?: unknown }).name), 'binary'),
      ),
    ],
  },
  'io::output': { params: {}, inputs: () => [pin('in', 'any')] },
};

function fakeEntry(kind: FakeKind): KindEntry {
  return {
    pins: (params) => ({
      inputs: kind.inputs?.(params) ?? [],
      outputs: kind.outputs?.(params) ?? [],
    }),
    parseParams(raw: unknown): Result<Record<string, unknown>, string> {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        return err('params must be a map');
      const out: Record<string, unknown> = {};
      for (const [key, spec] of Object.entries(kind.params))
        if (spec.default !== undefined) out[key] = spec.default;
      for (const [key, value] of Object.entries(raw)) {
        const spec = kind.params[key];
        if (!spec) return err(`unknown param '${key}'`);
        const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
        if (actual !== spec.type) return err(`'${key}' must be a ${spec.type}`);
        out[key] = value;
      }
      return ok(out);
    },
  };
}

const catalog: KindCatalog = {
  lookup: (kind) => (Object.hasOwn(KINDS, kind) ? fakeEntry(KINDS[kind] as FakeKind) : undefined),
};

// ---------------------------------------------------------------------------------------------
// Helpers

function conn(
  from: string,
  to: string,
  mode: Connection['mode'] = 'reliable',
): [string, Connection] {
  const [fn, fp] = from.split(':') as [string, string];
  const [tn, tp] = to.split(':') as [string, string];
  const c: Connection = { from: { node: fn, pin: fp }, to: { node: tn, pin: tp }, mode };
  return [connectionId(c), c];
}

function model(parts: Partial<Pipeline> & { conns?: Array<[string, Connection]> }): Pipeline {
  const { conns, ...rest } = parts;
  return { mode: 'dynamic', nodes: {}, connections: Object.fromEntries(conns ?? []), ...rest };
}

function expectOk(result: Result<Pipeline, Problem[]>): Pipeline {
  if (!result.ok) expect.fail(`expected ok, got ${JSON.stringify(result.error, null, 2)}`);
  return result.value;
}

function expectProblems(result: Result<Pipeline, Problem[]>): Problem[] {
  if (result.ok) expect.fail(`expected problems, got ${JSON.stringify(result.value)}`);
  const codes = new Set<string>(Object.values(ErrorCode));
  for (const p of result.error) {
    expect(codes.has(p.code), `unknown code ${p.code}`).toBe(true);
    expect(typeof p.message).toBe('string');
    if (p.node !== undefined) expect(p.message).toContain(`'${p.node}'`);
  }
  return result.error;
}

function codesOf(problems: Problem[]): Array<[string, string | undefined]> {
  return problems.map((p) => [p.code, p.node]);
}

function roundTrip(m: Pipeline, cat?: KindCatalog): Pipeline {
  return expectOk(importPipelineYaml(exportPipelineYaml(m), cat));
}

// ---------------------------------------------------------------------------------------------
// The example of interfaces.md ("Pipeline YAML"), verbatim.

const INTERFACES_EXAMPLE = `name: Picture in picture
description: Two test sources composited
mode: dynamic            # or oneshot
nodes:
  bg:
    kind: video::colorbars
    params: { width: 1280, height: 720, fps: 30 }
  cam:
    kind: video::colorbars
    params: { width: 640, height: 360 }
  mix:
    kind: video::compositor
    params:
      width: 1280
      height: 720
      layers:
        in_1: { rect: { x: 840, y: 460, width: 400, height: 225 }, opacity: 0.9, rotation_degrees: 0 }
    needs: [bg, cam]     # several → pins in_0, in_1, …; one → pin in; or { node, mode }
`;

const INTERFACES_MODEL: Pipeline = model({
  name: 'Picture in picture',
  description: 'Two test sources composited',
  nodes: {
    bg: { kind: 'video::colorbars', params: { width: 1280, height: 720, fps: 30 } },
    cam: { kind: 'video::colorbars', params: { width: 640, height: 360 } },
    mix: {
      kind: 'video::compositor',
      params: {
        width: 1280,
        height: 720,
        layers: {
          in_1: {
            rect: { x: 840, y: 460, width: 400, height: 225 },
            opacity: 0.9,
            rotation_degrees: 0,
          },
        },
      },
    },
  },
  conns: [conn('bg:out', 'mix:in_0'), conn('cam:out', 'mix:in_1')],
});

describe('importPipelineYaml: the interfaces.md example', () => {
  test('imports to the expected model, with and without a catalog', () => {
    expect(expectOk(importPipelineYaml(INTERFACES_EXAMPLE))).toEqual(INTERFACES_MODEL);
    expect(expectOk(importPipelineYaml(INTERFACES_EXAMPLE, catalog))).toEqual(INTERFACES_MODEL);
  });

  test('exports in canonical form and re-imports equal', () => {
    const text = exportPipelineYaml(INTERFACES_MODEL);
    expect(text).toBe(`name: Picture in picture
description: Two test sources composited
mode: dynamic
nodes:
  bg:
    kind: video::colorbars
    params:
      fps: 30
      height: 720
      width: 1280
  cam:
    kind: video::colorbars
    params:
      height: 360
      width: 640
  mix:
    kind: video::compositor
    params:
      height: 720
      layers:
        in_1:
          opacity: 0.9
          rect:
            height: 225
            width: 400
            x: 840
            y: 460
          rotation_degrees: 0
      width: 1280
    needs:
      - bg
      - cam
`);
    expect(roundTrip(INTERFACES_MODEL, catalog)).toEqual(INTERFACES_MODEL);
  });
});

// ---------------------------------------------------------------------------------------------
// StreamKit's format (written here in the shape of its samples/pipelines/*.yml).

describe('importPipelineYaml: StreamKit pipelines load unchanged', () => {
  const STEPS = `name: Volume up
description: Louder Ogg/Opus in, Ogg/Opus out
mode: oneshot
client:
  input:
    type: file_upload
    accept: "audio/*"
  output:
    type: audio
steps:
  - kind: streamkit::http_input
  - kind: containers::ogg::demuxer
  - kind: audio::opus::decoder
  - kind: audio::gain
    params:
      gain: 2
  - kind: audio::opus::encoder
  - kind: containers::ogg::muxer
    params:
      channels: 2
      chunk_size: 65536
  - kind: streamkit::http_output
`;

  test('steps become step_0, step_1, … chained out → in; http_input/output alias io::input/output', () => {
    const p = expectOk(importPipelineYaml(STEPS, catalog));
    expect(p.mode).toBe('oneshot');
    expect(p.name).toBe('Volume up');
    expect(Object.keys(p.nodes)).toEqual([
      'step_0',
      'step_1',
      'step_2',
      'step_3',
      'step_4',
      'step_5',
      'step_6',
    ]);
    expect(p.nodes.step_0?.kind).toBe(STREAMKIT_KIND_ALIASES['streamkit::http_input']);
    expect(p.nodes.step_0?.kind).toBe('io::input');
    expect(p.nodes.step_6?.kind).toBe('io::output');
    expect(p.nodes.step_5).toEqual({
      kind: 'containers::ogg::muxer',
      params: { channels: 2, chunk_size: 65536 },
    });
    expect(p.nodes.step_1).toEqual({ kind: 'containers::ogg::demuxer', params: {} });
    expect(Object.keys(p.connections).sort()).toEqual([
      'step_0.out->step_1.in',
      'step_1.out->step_2.in',
      'step_2.out->step_3.in',
      'step_3.out->step_4.in',
      'step_4.out->step_5.in',
      'step_5.out->step_6.in',
    ]);
    expect(roundTrip(p, catalog)).toEqual(p);
  });

  test('a step into a kind with only an in_ family lands on in_0 (catalog given)', () => {
    const text = 'steps:\n  - kind: audio::sine\n  - kind: audio::mixer\n';
    expect(Object.keys(expectOk(importPipelineYaml(text, catalog)).connections)).toEqual([
      'step_0.out->step_1.in_0',
    ]);
    expect(Object.keys(expectOk(importPipelineYaml(text)).connections)).toEqual([
      'step_0.out->step_1.in',
    ]);
  });

  const MIXING = `# Two uploads mixed, as StreamKit's samples do it.
name: Dual upload mix
mode: oneshot
client:
  output:
    type: audio
tags: [audio, mixing]
category: demo
nodes:
  uploads:
    kind: streamkit::http_input
    params:
      fields:
        - name: track_a
        - name: track_b

  a_demux:
    kind: containers::ogg::demuxer
    needs: uploads.track_a
  a_dec:
    kind: audio::opus::decoder
    needs: a_demux
  a_gain:
    kind: audio::gain
    params:
      gain: 1.0
    needs: a_dec

  b_demux:
    kind: containers::ogg::demuxer
    needs:
      node: uploads.track_b
  b_pacer:
    kind: core::pacer
    params: { buffer_size: 16, speed: 1 }
    needs: b_demux
  b_dec:
    kind: audio::opus::decoder
    needs: b_pacer

  mixer:
    kind: audio::mixer
    params:
      num_inputs: 2
    needs:
      - a_gain               # reliable (default)
      - node: b_dec
        mode: best_effort
  encoder:
    kind: audio::opus::encoder
    needs: mixer
  muxer:
    kind: containers::webm::muxer
    params:
      channels: 1
      chunk_size: 65536
      sample_rate: 48000
    needs: encoder
  out:
    kind: streamkit::http_output
    needs: muxer
`;

  test('nodes/needs: node.pin, {node, mode}, mixed lists, metadata keys ignored, params as written', () => {
    const p = expectOk(importPipelineYaml(MIXING, catalog));
    expect(p.nodes.uploads?.kind).toBe('io::input');
    expect(p.nodes.out?.kind).toBe('io::output');
    expect(p.nodes.mixer?.params).toEqual({ num_inputs: 2 });
    // The catalog would add defaults (gain: 1 here is written; colorbars would gain fps etc.).
    expect(p.nodes.a_gain?.params).toEqual({ gain: 1 });
    expect(p.connections['uploads.track_a->a_demux.in']?.from).toEqual({
      node: 'uploads',
      pin: 'track_a',
    });
    expect(p.connections['uploads.track_b->b_demux.in']?.mode).toBe('reliable');
    expect(p.connections['a_gain.out->mixer.in_0']?.mode).toBe('reliable');
    expect(p.connections['b_dec.out->mixer.in_1']?.mode).toBe('best_effort');
    expect(Object.keys(p.connections)).toHaveLength(11);
    expect(roundTrip(p, catalog)).toEqual(p);
  });

  test('the map form of needs: input pin → dependency', () => {
    const text = `nodes:
  src: { kind: video::colorbars }
  peer:
    kind: core::passthrough
  dec:
    kind: core::passthrough
    needs:
      in: peer.out
  comp:
    kind: video::compositor
    needs:
      in_0: src
      in_3: { node: dec, mode: best_effort }
`;
    const p = expectOk(importPipelineYaml(text, catalog));
    expect(Object.keys(p.connections).sort()).toEqual([
      'dec.out->comp.in_3',
      'peer.out->dec.in',
      'src.out->comp.in_0',
    ]);
    expect(p.connections['dec.out->comp.in_3']?.mode).toBe('best_effort');
    expect(roundTrip(p, catalog)).toEqual(p);
  });

  test('a kind Patchbay lacks is reported by name', () => {
    const text = `mode: oneshot
steps:
  - kind: streamkit::http_input
  - kind: plugin::native::whisper
    params:
      model_path: models/base.bin
  - kind: streamkit::http_output
`;
    const problems = expectProblems(importPipelineYaml(text, catalog));
    expect(codesOf(problems)).toEqual([['unknown_kind', 'step_1']]);
    expect(problems[0]?.message).toContain("'plugin::native::whisper'");
    expect(problems[0]?.message).toMatch(/line 4/);
  });

  test('a bidirectional loop (allowed by StreamKit for transport::moq::peer) is a cycle here', () => {
    const text = `mode: dynamic
nodes:
  moq_peer:
    kind: transport::moq::peer
    needs: opus_encoder
  opus_decoder:
    kind: audio::opus::decoder
    needs: moq_peer
  gain:
    kind: audio::gain
    needs: opus_decoder
  opus_encoder:
    kind: audio::opus::encoder
    needs: gain
`;
    const problems = expectProblems(importPipelineYaml(text));
    expect(codesOf(problems)).toEqual([['cycle', 'gain']]);
    expect(problems[0]?.message).toContain(
      'gain -> opus_encoder -> moq_peer -> opus_decoder -> gain',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Problems: every one reported, each naming its node.

describe('importPipelineYaml: problems', () => {
  test('YAML syntax errors are bad_yaml with a line', () => {
    const problems = expectProblems(importPipelineYaml('name: x\nnodes:\n  a: [1,\n  b: : :\n'));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.code === 'bad_yaml')).toBe(true);
    expect(problems[0]?.message).toMatch(/line \d+/);
    const dup = expectProblems(importPipelineYaml('nodes:\n  a: { kind: k }\n  a: { kind: k }\n'));
    expect(codesOf(dup)).toEqual([['bad_yaml', undefined]]);
    expect(dup[0]?.message).toMatch(/line 3.*unique/);
    const two = expectProblems(importPipelineYaml('name: a\n---\nname: b\n'));
    expect(two[0]?.message).toMatch(/line 2.*one YAML document/);
  });

  test('every problem in one document is reported, each naming its node', () => {
    const text = `name: Broken
nodes:
  src:
    kind: audio::sine
  loop:
    kind: audio::gain
    needs: loop
  a:
    kind: audio::gain
    needs: c
  b:
    kind: audio::gain
    needs: a
  c:
    kind: audio::gain
    needs: b
  mystery:
    kind: audio::warp
    needs: src
  loud:
    kind: audio::gain
    params: { gain: loud }
    needs: src
  orphan:
    kind: core::sink
    needs: nowhere
  9lives:
    kind: core::sink
    needs: src
`;
    const problems = expectProblems(importPipelineYaml(text, catalog));
    expect(codesOf(problems)).toEqual([
      ['bad_yaml', '9lives'],
      ['bad_params', 'loud'],
      ['unknown_kind', 'mystery'],
      ['self_reference', 'loop'],
      ['unknown_node', 'orphan'],
      ['cycle', 'a'],
    ]);
    const byCode = new Map(problems.map((p) => [p.code, p.message]));
    expect(byCode.get('cycle')).toContain('a -> b -> c -> a');
    expect(byCode.get('unknown_node')).toContain("'nowhere'");
    expect(byCode.get('bad_params')).toContain("'gain' must be a number");
    expect(byCode.get('self_reference')).toMatch(/line 5/);
  });

  test('cycles: one report per cyclic group, listing the nodes in order', () => {
    const text = `nodes:
  a: { kind: k, needs: [b] }
  b: { kind: k, needs: [a] }
  x: { kind: k, needs: z }
  y: { kind: k, needs: x }
  z: { kind: k, needs: [y, w] }
  w: { kind: k, needs: z }
`;
    const problems = expectProblems(importPipelineYaml(text));
    expect(codesOf(problems)).toEqual([
      ['cycle', 'a'],
      ['cycle', 'w'],
    ]);
    expect(problems[0]?.message).toContain('a -> b -> a');
    expect(problems[1]?.message).toContain('w -> z -> w');
    expect(problems[1]?.message).toContain('cycle group: w, x, y, z');
  });

  const WRONG: Array<[string, string, Array<[string, string | undefined]>]> = [
    ['not a map', '- a\n- b\n', [['bad_yaml', undefined]]],
    ['a number', '42', [['bad_yaml', undefined]]],
    ['empty', '', [['bad_yaml', undefined]]],
    ['name a list', 'name: [a]\n', [['bad_yaml', undefined]]],
    ['description a map', 'description: {a: 1}\n', [['bad_yaml', undefined]]],
    ['bad mode', 'mode: fast\n', [['bad_yaml', undefined]]],
    ['unknown top key (typo)', 'node:\n  a: {kind: k}\n', [['bad_yaml', undefined]]],
    ['nodes a list', 'nodes: [a, b]\n', [['bad_yaml', undefined]]],
    ['steps a map', 'steps: {a: 1}\n', [['bad_yaml', undefined]]],
    [
      'both nodes and steps',
      'nodes: {a: {kind: k}}\nsteps: [{kind: k}]\n',
      [['bad_yaml', undefined]],
    ],
    ['node a number', 'nodes:\n  a: 5\n', [['bad_yaml', 'a']]],
    ['node null', 'nodes:\n  a:\n', [['bad_yaml', 'a']]],
    ['kind missing', 'nodes:\n  a: {params: {}}\n', [['bad_yaml', 'a']]],
    ['kind a number', 'nodes:\n  a: {kind: 5}\n', [['bad_yaml', 'a']]],
    ['kind empty', 'nodes:\n  a: {kind: ""}\n', [['bad_yaml', 'a']]],
    ['params a list', 'nodes:\n  a: {kind: k, params: [1]}\n', [['bad_params', 'a']]],
    ['params a string', 'nodes:\n  a: {kind: k, params: x}\n', [['bad_params', 'a']]],
    ['unknown node key', 'nodes:\n  a: {kind: k, need: b}\n  b: {kind: k}\n', [['bad_yaml', 'a']]],
    ['bad id', 'nodes:\n  "has space": {kind: k}\n', [['bad_yaml', 'has space']]],
    ['id too long', `nodes:\n  ${'a'.repeat(129)}: {kind: k}\n`, [['bad_yaml', 'a'.repeat(129)]]],
    ['needs a number', 'nodes:\n  a: {kind: k, needs: 5}\n', [['bad_yaml', 'a']]],
    [
      'needs item a list',
      'nodes:\n  a: {kind: k, needs: [[b]]}\n  b: {kind: k}\n',
      [['bad_yaml', 'a']],
    ],
    ['needs empty string', 'nodes:\n  a: {kind: k, needs: ""}\n', [['bad_yaml', 'a']]],
    [
      'needs bad mode',
      'nodes:\n  a: {kind: k, needs: {node: b, mode: fast}}\n  b: {kind: k}\n',
      [['bad_yaml', 'a']],
    ],
    ['needs node not text', 'nodes:\n  a: {kind: k, needs: {node: 3}}\n', [['bad_yaml', 'a']]],
    [
      'needs bad pin',
      'nodes:\n  a: {kind: k, needs: {node: b, pin: "x y"}}\n  b: {kind: k}\n',
      [['bad_yaml', 'a']],
    ],
    [
      'needs unknown key',
      'nodes:\n  a: {kind: k, needs: {node: b, form: x}}\n  b: {kind: k}\n',
      [['bad_yaml', 'a']],
    ],
    [
      'needs map bad pin',
      'nodes:\n  a: {kind: k, needs: {"in-1": b}}\n  b: {kind: k}\n',
      [['bad_yaml', 'a']],
    ],
    [
      'needs map to mismatch',
      'nodes:\n  a: {kind: k, needs: {in_1: {node: b, to: in_2}}}\n  b: {kind: k}\n',
      [['bad_yaml', 'a']],
    ],
    ['position bad', 'nodes:\n  a: {kind: k, position: {x: 1}}\n', [['bad_yaml', 'a']]],
    [
      'position infinite',
      'nodes:\n  a: {kind: k, position: {x: .inf, y: 0}}\n',
      [['bad_yaml', 'a']],
    ],
    ['step not a map', 'steps:\n  - kind: k\n  - 7\n', [['bad_yaml', 'step_1']]],
    ['step with needs', 'steps:\n  - {kind: k, needs: x}\n', [['bad_yaml', 'step_0']]],
    ['unknown tag', 'name: !custom x\n', [['bad_yaml', undefined]]],
    [
      'duplicate connection',
      'nodes:\n  a: {kind: k, needs: [{node: b, to: in}, {node: b, to: in}]}\n  b: {kind: k}\n',
      [['duplicate_connection', 'a']],
    ],
  ];
  test.each(WRONG)('wrong shape: %s', (_label, text, expected) => {
    expect(codesOf(expectProblems(importPipelineYaml(text)))).toEqual(expected);
  });

  test('a broken node is still a known node: no unknown_node noise for its dependents', () => {
    const problems = expectProblems(
      importPipelineYaml('nodes:\n  a: {params: {}}\n  b: {kind: k, needs: a}\n'),
    );
    expect(codesOf(problems)).toEqual([['bad_yaml', 'a']]);
  });

  test('E16: with a catalog, unknown pins and incompatible pin types are reported', () => {
    const text = `nodes:
  bars: { kind: video::colorbars }
  tone: { kind: audio::sine }
  gain: { kind: audio::gain, needs: bars }
  enc: { kind: audio::opus::encoder, needs: { node: tone, pin: left } }
  sink: { kind: core::sink, needs: { node: tone, to: side } }
  mix: { kind: audio::mixer, needs: [tone, tone] }
`;
    const problems = expectProblems(importPipelineYaml(text, catalog));
    expect(codesOf(problems)).toEqual([
      ['pin_type_mismatch', 'gain'],
      ['unknown_pin', 'enc'],
      ['unknown_pin', 'sink'],
    ]);
    expect(problems[0]?.message).toContain('raw_audio');
    expect(problems[0]?.message).toContain('raw_video');
    expect(problems[1]?.message).toContain("'left'");
    expect(problems[2]?.message).toContain("'side'");
    // Without a catalog pins are not checked.
    expect(importPipelineYaml(text).ok).toBe(true);
  });

  test('a single need into an in_-family kind maps to in_0; several to in_0, in_1, …', () => {
    const text =
      'nodes:\n  t: {kind: audio::sine}\n  u: {kind: audio::sine}\n  m: {kind: audio::mixer, needs: t}\n  n: {kind: audio::mixer, needs: [t, u]}\n';
    const p = expectOk(importPipelineYaml(text, catalog));
    expect(Object.keys(p.connections).sort()).toEqual([
      't.out->m.in_0',
      't.out->n.in_0',
      'u.out->n.in_1',
    ]);
    expect(roundTrip(p, catalog)).toEqual(p);
    expect(roundTrip(p)).toEqual(p);
  });

  test('import keeps params as written, not the catalog-parsed version with defaults', () => {
    const p = expectOk(
      importPipelineYaml(
        'nodes:\n  bars: {kind: video::colorbars, params: {width: 320}}\n',
        catalog,
      ),
    );
    expect(p.nodes.bars?.params).toEqual({ width: 320 });
    expect(exportPipelineYaml(p)).not.toContain('fps');
  });

  test('dotted ids: a needs string that names a node is that node, else it splits at the last dot', () => {
    const text = `nodes:
  cam.left: { kind: k }
  cam: { kind: k }
  a: { kind: k, needs: cam.left }
  b: { kind: k, needs: cam.right }
  c: { kind: k, needs: [cam.left.out_2, cam] }
  d: { kind: k, needs: { node: cam, pin: left } }
`;
    const p = expectOk(importPipelineYaml(text));
    expect(Object.keys(p.connections).sort()).toEqual([
      'cam.left->d.in',
      'cam.left.out->a.in',
      'cam.left.out_2->c.in_0',
      'cam.out->c.in_1',
      'cam.right->b.in',
    ]);
    expect(roundTrip(p)).toEqual(p);
    const missing = expectProblems(
      importPipelineYaml('nodes:\n  a: {kind: k, needs: ghost.out}\n'),
    );
    expect(codesOf(missing)).toEqual([['unknown_node', 'a']]);
    expect(missing[0]?.message).toContain("'ghost.out'");
  });

  test('kinds named like Object members are just kinds', () => {
    const p = expectOk(
      importPipelineYaml('nodes:\n  a: {kind: constructor}\n  b: {kind: toString}\n'),
    );
    expect(p.nodes.a?.kind).toBe('constructor');
    expect(p.nodes.b?.kind).toBe('toString');
    expect(
      codesOf(expectProblems(importPipelineYaml('nodes:\n  a: {kind: constructor}\n', catalog))),
    ).toEqual([['unknown_kind', 'a']]);
  });

  test('metadata, empty needs and null fields are accepted', () => {
    const p = expectOk(
      importPipelineYaml(
        'name:\ndescription:\nmode:\nclient: {x: 1}\ngroup: g\nvariant: v\nnodes:\n  a: {kind: k, needs: [], params: }\n',
      ),
    );
    expect(p).toEqual(model({ nodes: { a: { kind: 'k', params: {} } } }));
    expect(expectOk(importPipelineYaml('mode: oneshot\n'))).toEqual(model({ mode: 'oneshot' }));
  });

  test('a __proto__ id or param key stays data, never a prototype', () => {
    const p = expectOk(
      importPipelineYaml(
        'nodes:\n  __proto__: {kind: k, params: {__proto__: {polluted: 1}}}\n  b: {kind: k, needs: __proto__}\n',
      ),
    );
    expect(Object.keys(p.nodes)).toEqual(['__proto__', 'b']);
    expect(Object.getPrototypeOf(p.nodes)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(p.connections)).toEqual(['__proto__.out->b.in']);
    // `_`-prefixed param keys are transient (S3), so export drops the param but keeps the node.
    const again = roundTrip(p);
    expect(Object.keys(again.nodes)).toEqual(['__proto__', 'b']);
    expect(again.nodes['__proto__']?.params).toEqual({});
  });
});

// ---------------------------------------------------------------------------------------------
// Never throws.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function importNeverThrows(text: unknown, seed?: number): void {
  let result: Result<Pipeline, Problem[]> | undefined;
  expect(() => {
    result = importPipelineYaml(text as string, catalog);
  }, `seed ${seed}`).not.toThrow();
  if (result && !result.ok) {
    expect(result.error.length, `seed ${seed}`).toBeGreaterThan(0);
    for (const p of result.error) expect(Object.values(ErrorCode)).toContain(p.code);
  }
}

describe('importPipelineYaml never throws', () => {
  // Each anchor nests 100 levels around an alias of the previous one: shallow per CST
  // collection, but the resolved value is 500 levels deep.
  const deepAliases = Array.from(
    { length: 5 },
    (_, i) => `a${i}: &a${i} ${'['.repeat(100)}${i === 0 ? 'x' : `*a${i - 1}`}${']'.repeat(100)}`,
  ).join('\n');
  const longAliasChain = [
    'a0: &a0 [x]',
    ...Array.from({ length: 300 }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}]`),
  ].join('\n');
  const laughs = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    ...Array.from(
      { length: 8 },
      (_, i) =>
        `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`,
    ),
  ].join('\n');
  const GARBAGE: Array<[string, unknown]> = [
    ['number', 42],
    ['null', null],
    ['undefined', undefined],
    ['array', ['nodes:']],
    ['object', { nodes: {} }],
    ['NUL bytes', '\u0000\u0000\u0001'],
    ['lone surrogate', 'name: \ud800'],
    ['BOM only', '\ufeff'],
    ['tabs', '\tnodes:\n\t\ta: 1'],
    ['huge scalar', `name: ${'x'.repeat(2_000_000)}\n`],
    [
      'huge key count',
      `nodes:\n${Array.from({ length: 3000 }, (_, i) => `  n${i}: {kind: k${i % 7}, needs: n${i + 1}}`).join('\n')}\n`,
    ],
    ['deep flow', '['.repeat(100_000)],
    ['deep closed flow', `${'['.repeat(5000)}1${']'.repeat(5000)}`],
    ['deep maps', `${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}`],
    ['deep block', `${Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1`],
    ['deep seq', `${'- '.repeat(30_000)}x`],
    [
      'deep params',
      `nodes:\n  a:\n    kind: k\n    params: ${'['.repeat(YAML_MAX_NESTING + 5)}${']'.repeat(YAML_MAX_NESTING + 5)}\n`,
    ],
    ['deep aliases', deepAliases],
    ['long alias chain', longAliasChain],
    ['billion laughs', laughs],
    ['self alias', 'a: &a [*a]'],
    ['undefined alias', 'a: *nope'],
    ['directives', '%YAML 1.1\n%TAG ! tag:x,2000:\n---\nname: !x y\n'],
    ['weird keys', '? [a, b]\n: c\n? {x: 1}\n: d\n'],
    ['anchors in nodes', 'nodes:\n  a: &n {kind: k}\n  b: *n\n  c: {<<: *n, needs: a}\n'],
  ];
  test.each(GARBAGE)('garbage: %s', (_label, text) => importNeverThrows(text));

  test('too deep is bad_yaml, not a crash', () => {
    for (const text of ['['.repeat(100_000), deepAliases]) {
      const problems = expectProblems(importPipelineYaml(text));
      expect(problems[0]?.message).toMatch(/nested more than/);
    }
    for (const text of [laughs, longAliasChain]) {
      expect(expectProblems(importPipelineYaml(text))[0]?.message).toMatch(/alias/i);
    }
  });

  test('seeded random mutations of valid YAML', () => {
    const base = [
      INTERFACES_EXAMPLE,
      exportPipelineYaml(INTERFACES_MODEL),
      'steps:\n  - kind: a\n  - {kind: b, params: {x: [1, {y: 2}]}}\n',
    ];
    const noise = [
      '[',
      ']',
      '{',
      '}',
      ':',
      '-',
      ' ',
      '\n',
      '  ',
      '#',
      '&a',
      '*a',
      '!',
      '|',
      '>',
      '"',
      "'",
      '?',
      ',',
      '\t',
      '%',
      '@',
      '`',
      '\u0000',
      '😀',
      'needs',
      'node',
      'kind',
      '.',
      '_',
    ];
    for (let seed = 1; seed <= 400; seed++) {
      const rng = mulberry32(seed);
      let text = base[Math.floor(rng() * base.length)] as string;
      const edits = 1 + Math.floor(rng() * 6);
      for (let i = 0; i < edits; i++) {
        const at = Math.floor(rng() * (text.length + 1));
        const r = rng();
        if (r < 0.4)
          text =
            text.slice(0, at) +
            (noise[Math.floor(rng() * noise.length)] as string) +
            text.slice(at);
        else if (r < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rng() * 8));
        else {
          const from = Math.floor(rng() * text.length);
          text =
            text.slice(0, at) + text.slice(from, from + Math.floor(rng() * 20)) + text.slice(at);
        }
      }
      importNeverThrows(text, seed);
    }
  });

  test('seeded random byte strings', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = mulberry32(seed * 7919);
      const length = Math.floor(rng() * 200);
      let text = '';
      for (let i = 0; i < length; i++)
        text += String.fromCharCode(Math.floor(rng() * (rng() < 0.9 ? 128 : 0x10000)));
      importNeverThrows(text, seed);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Export.

describe('exportPipelineYaml', () => {
  const base = (): Pipeline =>
    model({
      name: 'n',
      mode: 'oneshot',
      nodes: {
        src: {
          kind: 'audio::sine',
          params: { frequency_hz: 440, nested: { z: 1, a: [{ y: 1, b: 2 }], m: {} } },
        },
        gain: { kind: 'audio::gain', params: { gain: 0.5 }, position: { x: 10, y: -20.5 } },
        sink: { kind: 'core::sink', params: {} },
      },
      conns: [conn('src:out', 'gain:in'), conn('gain:out', 'sink:in', 'best_effort')],
    });

  test('keys in fixed order, params sorted recursively, empty fields omitted', () => {
    expect(exportPipelineYaml(base())).toBe(`name: n
mode: oneshot
nodes:
  src:
    kind: audio::sine
    params:
      frequency_hz: 440
      nested:
        a:
          - b: 2
            y: 1
        m: {}
        z: 1
  gain:
    kind: audio::gain
    params:
      gain: 0.5
    needs: src
    position:
      x: 10
      y: -20.5
  sink:
    kind: core::sink
    needs:
      node: gain
      mode: best_effort
`);
    expect(exportPipelineYaml(model({}))).toBe('mode: dynamic\n');
    expect(importPipelineYaml('mode: dynamic\n')).toEqual(ok(model({})));
  });

  test('byte-identical regardless of key insertion order', () => {
    const a = base();
    const reversed = (o: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(o)
          .reverse()
          .map(([k, v]) => [
            k,
            v && typeof v === 'object' && !Array.isArray(v)
              ? reversed(v as Record<string, unknown>)
              : v,
          ]),
      );
    const b = reversed(a as unknown as Record<string, unknown>) as unknown as Pipeline;
    expect(Object.keys(b)).not.toEqual(Object.keys(a));
    expect(exportPipelineYaml(b)).toBe(exportPipelineYaml(a));
  });

  test('integer-like param keys sort deterministically too', () => {
    const one = model({ nodes: { a: { kind: 'k', params: { b: 1, '10': 2, '2': 3, '': 4 } } } });
    const two = model({ nodes: { a: { kind: 'k', params: { '': 4, '2': 3, b: 1, '10': 2 } } } });
    const text = exportPipelineYaml(one);
    expect(exportPipelineYaml(two)).toBe(text);
    expect(text.indexOf('"10"')).toBeLessThan(text.indexOf('"2"'));
    expect(roundTrip(one)).toEqual(one);
  });

  test('nodes in topological order, ties by id', () => {
    const m = model({
      nodes: {
        z: { kind: 'k', params: {} },
        y: { kind: 'k', params: {} },
        b: { kind: 'k', params: {} },
        a: { kind: 'k', params: {} },
      },
      conns: [conn('z:out', 'a:in'), conn('y:out', 'b:in')],
    });
    const order = [...exportPipelineYaml(m).matchAll(/^ {2}(\w+):$/gm)].map((x) => x[1]);
    expect(order).toEqual(['y', 'b', 'z', 'a']);
  });

  test('compact needs when the convention holds, the explicit form otherwise', () => {
    const nodes: Record<string, PipelineNode> = Object.fromEntries(
      ['a', 'b', 'c', 't'].map((id) => [id, { kind: 'k', params: {} }]),
    );
    const needsOf = (conns: Array<[string, Connection]>): unknown => {
      const text = exportPipelineYaml(model({ nodes, conns }));
      const m = model({ nodes, conns });
      expect(roundTrip(m)).toEqual(m);
      return text.slice(text.indexOf('  t:\n'));
    };
    expect(needsOf([conn('a:out', 't:in')])).toBe('  t:\n    kind: k\n    needs: a\n');
    expect(needsOf([conn('b:out', 't:in_1'), conn('a:out', 't:in_0')])).toBe(
      '  t:\n    kind: k\n    needs:\n      - a\n      - b\n',
    );
    expect(needsOf([conn('a:video', 't:in_0'), conn('b:out', 't:in_1', 'best_effort')])).toBe(
      '  t:\n    kind: k\n    needs:\n      - node: a\n        pin: video\n      - node: b\n        mode: best_effort\n',
    );
    expect(needsOf([conn('a:out', 't:in_0')])).toBe(
      '  t:\n    kind: k\n    needs:\n      node: a\n      to: in_0\n',
    );
    expect(needsOf([conn('a:out', 't:in_0'), conn('b:out', 't:in_2')])).toBe(
      '  t:\n    kind: k\n    needs:\n      - node: a\n        to: in_0\n      - node: b\n        to: in_2\n',
    );
    expect(
      needsOf([conn('a:out', 't:in'), conn('b:out', 't:in'), conn('c:x', 't:left', 'best_effort')]),
    ).toBe(
      '  t:\n    kind: k\n    needs:\n      - node: a\n        to: in\n      - node: b\n        to: in\n      - node: c\n        pin: x\n        to: left\n        mode: best_effort\n',
    );
  });

  test('S3: transient _-prefixed keys never reach the export, at any depth', () => {
    const m = model({
      nodes: {
        a: {
          kind: 'video::compositor',
          params: {
            _stamp: { sender: 'x', rev: 3 },
            width: 1,
            layers: { in_0: { _rev: 2, opacity: 1, list: [{ _x: 1, y: 2 }] } },
          },
        },
        b: { kind: 'k', params: { _only: true } },
      },
    });
    (m.nodes.a as PipelineNode & { _sync?: unknown })._sync = { rev: 9 };
    const text = exportPipelineYaml(m);
    expect(text).not.toMatch(/_stamp|_rev|_x|_only|_sync/);
    expect(text).toContain('  b:\n    kind: k\n');
    expect(expectOk(importPipelineYaml(text)).nodes).toEqual({
      a: {
        kind: 'video::compositor',
        params: { width: 1, layers: { in_0: { opacity: 1, list: [{ y: 2 }] } } },
      },
      b: { kind: 'k', params: {} },
    });
  });

  test('S3: stripTransient drops _-prefixed keys at any depth and does not mutate its input', () => {
    const input = {
      a: 1,
      _b: 2,
      c: [{ _d: 1, e: { _f: 1, g: null } }, 3, 'x'],
      h: { _i: { j: 1 } },
    };
    const copy: unknown = JSON.parse(JSON.stringify(input));
    expect(stripTransient(input)).toEqual({ a: 1, c: [{ e: { g: null } }, 3, 'x'], h: {} });
    expect(input).toEqual(copy);
    expect(stripTransient('_x')).toBe('_x');
    expect(stripTransient([{ _a: 1 }])).toEqual([{}]);
  });

  test('a cyclic or dangling model still exports every node without throwing', () => {
    const m = model({
      nodes: { a: { kind: 'k', params: {} }, b: { kind: 'k', params: {} } },
      conns: [
        conn('a:out', 'b:in'),
        conn('b:out', 'a:in'),
        conn('ghost:out', 'a:in_1'),
        conn('a:out', 'ghost:in'),
      ],
    });
    const text = exportPipelineYaml(m);
    expect(text).toContain('  a:\n');
    expect(text).toContain('  b:\n');
    expect(codesOf(expectProblems(importPipelineYaml(text)))).toEqual([
      ['unknown_node', 'a'],
      ['cycle', 'a'],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// validatePipeline on JSON models.

describe('validatePipeline', () => {
  test('a valid model has no problems', () => {
    expect(validatePipeline(INTERFACES_MODEL, catalog)).toEqual([]);
    expect(validatePipeline(INTERFACES_MODEL)).toEqual([]);
  });

  test('reports ids, unknown nodes, self-reference, cycles, kinds, params, pins and types', () => {
    const m = model({
      nodes: {
        'bad id': { kind: 'core::sink', params: {} },
        bars: { kind: 'video::colorbars', params: { width: 'wide' } },
        tone: { kind: 'audio::sine', params: {} },
        gain: { kind: 'audio::gain', params: {} },
        enc: { kind: 'audio::opus::encoder', params: {} },
        x: { kind: 'nope::nope', params: {} },
        p: { kind: 'core::passthrough', params: {} },
        q: { kind: 'core::passthrough', params: {} },
      },
      conns: [
        conn('gain:out', 'gain:in'),
        conn('ghost:out', 'tone:in'),
        conn('tone:out', 'ghost2:in'),
        conn('enc:out', 'gain:in_9'),
        conn('tone:nope', 'enc:in'),
        conn('p:out', 'q:in'),
        conn('q:out', 'p:in'),
      ],
    });
    const problems = validatePipeline(m, catalog);
    expect(codesOf(problems)).toEqual([
      ['bad_request', 'bad id'],
      ['bad_params', 'bars'],
      ['unknown_kind', 'x'],
      ['unknown_pin', 'gain'],
      ['self_reference', 'gain'],
      ['unknown_node', 'tone'],
      ['unknown_pin', 'enc'],
      ['unknown_node', 'ghost2'],
      ['cycle', 'p'],
    ]);
    for (const p of problems) expect(p.message).toContain(`'${p.node}'`);
    expect(codesOf(validatePipeline(m))).toEqual([
      ['bad_request', 'bad id'],
      ['self_reference', 'gain'],
      ['unknown_node', 'tone'],
      ['unknown_node', 'ghost2'],
      ['cycle', 'p'],
    ]);
  });

  test('a long chain and a big cycle are handled without recursion limits', () => {
    const n = 20_000;
    const nodes = Object.fromEntries(
      Array.from({ length: n }, (_, i) => [`n${i}`, { kind: 'k', params: {} }]),
    );
    const chain = Array.from({ length: n - 1 }, (_, i) => conn(`n${i}:out`, `n${i + 1}:in`));
    expect(validatePipeline(model({ nodes, conns: chain }))).toEqual([]);
    const cyclic = validatePipeline(
      model({ nodes, conns: [...chain, conn(`n${n - 1}:out`, 'n0:in')] }),
    );
    expect(codesOf(cyclic)).toEqual([['cycle', 'n0']]);
    expect(cyclic[0]?.message).toContain(`n0 -> n1 -> n10 -> `.slice(0, 9));
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip: seeded random models.

const SPECIAL_STRINGS = [
  '',
  ' ',
  'null',
  'Null',
  'NULL',
  '~',
  'true',
  'False',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  '0',
  '-0',
  '0x1F',
  '0o17',
  '1e3',
  '.inf',
  '-.Inf',
  '.NaN',
  '1_000',
  '12:30',
  '2024-01-01',
  '- x',
  '-',
  '? x',
  ': x',
  'a: b',
  'a #b',
  '#c',
  '&a',
  '*a',
  '!t',
  '!!str x',
  '%x',
  '@x',
  '`x',
  '|',
  '>',
  "'",
  '"',
  '\\',
  '{a}',
  '[1]',
  ',',
  'x,y',
  ' lead',
  'trail ',
  'multi\nline',
  'multi\nline\n',
  'ends\n\n',
  '\n',
  '\nlead',
  'tab\there',
  '\t',
  'cr\r\nlf',
  '\u0000nul',
  '\u0007bell',
  '\u001b[0m',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\ufeffbom',
  'é',
  'naïve',
  '中文',
  '日本語テキスト',
  '😀',
  '👩‍👩‍👧',
  'e\u0301',
  'עברית',
  '…',
  '---',
  '...',
  '--- x',
  '=',
  '<<',
  'in_0',
  'out',
  'node',
  'kind',
  'needs',
  '"quoted"',
  "it's",
  '  \n  ',
  'x'.repeat(300),
];

const CHARS = [
  'a',
  'b',
  'z',
  'A',
  'Z',
  '0',
  '9',
  '_',
  '-',
  '.',
  ' ',
  ':',
  '#',
  '\n',
  "'",
  '"',
  'é',
  '中',
  '😀',
  '\t',
  '{',
  ']',
  ',',
  '&',
  '*',
  '!',
];

function randomModel(seed: number): Pipeline {
  const rng = mulberry32(seed);
  const int = (n: number): number => Math.floor(rng() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

  const randomString = (): string => {
    if (rng() < 0.4) return pick(SPECIAL_STRINGS);
    let s = '';
    const length = int(12);
    for (let i = 0; i < length; i++) s += pick(CHARS);
    return s;
  };
  const randomNumber = (): number => {
    const r = rng();
    // `+ 0` turns -0 into 0: YAML (like JSON) has no negative zero.
    if (r < 0.3) return int(2000) - 1000 + 0;
    if (r < 0.5) return (rng() - 0.5) * 10 ** (int(40) - 20) + 0;
    if (r < 0.6)
      return pick([
        Number.MAX_SAFE_INTEGER,
        Number.MIN_SAFE_INTEGER,
        1e300,
        -1e-300,
        5e-324,
        0.1,
        1 / 3,
        1e21,
        2 ** 53 + 2,
      ]);
    if (r < 0.65) return pick([Infinity, -Infinity, NaN]);
    return Math.round(rng() * 1e6) / 1e3 + 0;
  };
  const randomValue = (depth: number): unknown => {
    const r = rng();
    if (depth > 0 && r < 0.15) return Array.from({ length: int(4) }, () => randomValue(depth - 1));
    if (depth > 0 && r < 0.3) return randomParams(depth - 1);
    if (r < 0.55) return randomString();
    if (r < 0.85) return randomNumber();
    if (r < 0.95) return rng() < 0.5;
    return null;
  };
  const randomParams = (depth: number): Record<string, unknown> => {
    const entries: Array<[string, unknown]> = [];
    const count = int(5);
    for (let i = 0; i < count; i++) {
      const key = rng() < 0.15 ? `_${randomString()}` : randomString();
      entries.push([key, randomValue(depth)]);
    }
    return Object.fromEntries(entries);
  };
  const randomId = (): string => {
    if (rng() < 0.3)
      return pick([
        'a',
        'a.b',
        'a.b.c',
        'step_0',
        'true',
        'null',
        'yes',
        '_x',
        'x-y',
        'in',
        'out',
        'node',
        'Infinity',
        'e1',
        'A.out',
      ]);
    const first = 'abcxyzABXY_';
    const rest = 'abcxyz019_-.';
    let id = pick([...first]);
    const length = int(10);
    for (let i = 0; i < length; i++) id += pick([...rest]);
    return id;
  };

  const ids: string[] = [];
  const wanted = int(10);
  for (let tries = 0; ids.length < wanted && tries < 100; tries++) {
    const id = randomId();
    if (!ids.includes(id)) ids.push(id);
  }
  const nodes: Array<[string, PipelineNode]> = ids.map((id) => {
    const node: PipelineNode = {
      kind:
        rng() < 0.7
          ? `${pick(['audio', 'video', 'core', 'x'])}::${pick(['gain', 'mixer', 'sink', 'a::b'])}`
          : randomString() || 'k',
      params: rng() < 0.2 ? {} : randomParams(3),
    };
    if (rng() < 0.4) node.position = { x: randomNumber() % 1e6 || 0, y: int(1000) - 500 + 0 };
    if (node.position && !Number.isFinite(node.position.x)) node.position.x = 1;
    return [id, node];
  });

  // A random topological order; connections only go forward in it, so the model is a DAG.
  const order = [...ids].sort(() => rng() - 0.5);
  const connections: Array<[string, Connection]> = [];
  const add = (c: Connection): void => {
    const id = connectionId(c);
    if (!connections.some(([k]) => k === id)) connections.push([id, c]);
  };
  const mode = (): Connection['mode'] => (rng() < 0.75 ? 'reliable' : 'best_effort');
  const outPin = (): string =>
    rng() < 0.7 ? 'out' : pick(['out_1', 'video', 'audio_0', 'left', 'out_0']);
  order.forEach((to, j) => {
    if (j === 0) return;
    const upstream = order.slice(0, j).filter(() => rng() < 0.4);
    const style = rng();
    if (style < 0.5) {
      // The convention: one → in, several → in_0..n-1.
      upstream.forEach((from, i) =>
        add({
          from: { node: from, pin: outPin() },
          to: { node: to, pin: upstream.length === 1 ? 'in' : `in_${i}` },
          mode: mode(),
        }),
      );
    } else {
      for (const from of upstream) {
        const count = 1 + int(2);
        for (let k = 0; k < count; k++) {
          add({
            from: { node: from, pin: outPin() },
            to: { node: to, pin: pick(['in', 'in_0', 'in_1', 'in_2', 'in_7', 'left', 'side']) },
            mode: mode(),
          });
        }
      }
    }
  });

  const p: Pipeline = {
    mode: rng() < 0.5 ? 'dynamic' : 'oneshot',
    nodes: Object.fromEntries(nodes.sort(() => rng() - 0.5)),
    connections: Object.fromEntries(connections.sort(() => rng() - 0.5)),
  };
  if (rng() < 0.7) p.name = randomString();
  if (rng() < 0.5) p.description = randomString();
  return p;
}

/** What a model should look like after export + import: no transient keys in params. */
function durable(p: Pipeline): Pipeline {
  const nodes = Object.fromEntries(
    Object.entries(p.nodes).map(([id, n]) => [id, { ...n, params: stripTransient(n.params) }]),
  );
  return { ...p, nodes };
}

describe('round trip: import(export(m)) equals m', () => {
  const SEEDS = 500;
  test(`seeded random models (${SEEDS} seeds)`, () => {
    // The generator must reach every export form, or the property proves little.
    const seen = {
      compactList: 0,
      explicitTo: 0,
      fromPin: 0,
      bestEffort: 0,
      transient: 0,
      position: 0,
    };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const m = randomModel(seed);
      expect(validatePipeline(m), `seed ${seed}: generated model is valid`).toEqual([]);
      const text = exportPipelineYaml(m);
      const back = importPipelineYaml(text);
      expect(back.ok, `seed ${seed}: ${JSON.stringify(back.ok ? null : back.error)}\n${text}`).toBe(
        true,
      );
      if (!back.ok) return;
      expect(back.value, `seed ${seed}\n${text}`).toEqual(durable(m));
      expect(exportPipelineYaml(back.value), `seed ${seed}: export is a fixed point`).toBe(text);
      if (/needs:\n {6}- [^\n{]+\n/.test(text)) seen.compactList++;
      if (text.includes(' to: ')) seen.explicitTo++;
      if (text.includes(' pin: ')) seen.fromPin++;
      if (text.includes('mode: best_effort')) seen.bestEffort++;
      if (JSON.stringify(durable(m)) !== JSON.stringify(m)) seen.transient++;
      if (text.includes('position:')) seen.position++;
    }
    for (const [form, count] of Object.entries(seen)) {
      expect(count, `${form} reached`).toBeGreaterThan(SEEDS / 20);
    }
  });

  test('fixed examples', () => {
    const examples: Pipeline[] = [
      model({}),
      model({ name: '', description: '' }),
      model({ name: 'multi\nline\n', description: '  lead and trail  ', mode: 'oneshot' }),
      INTERFACES_MODEL,
      model({
        nodes: {
          a: {
            kind: 'k',
            params: { s: '', n: null, t: true, list: [], map: {}, deep: [[[{ x: [] }]]] },
          },
        },
      }),
      model({
        nodes: {
          'a.b': { kind: 'k', params: {} },
          a: { kind: 'k', params: {} },
          c: { kind: 'k', params: {} },
        },
        conns: [conn('a.b:out', 'c:in_0'), conn('a:b', 'c:in_1')],
      }),
      model({ nodes: { a: { kind: 'k', params: {}, position: { x: 0.1, y: 1e21 } } } }),
    ];
    for (const m of examples) expect(roundTrip(m)).toEqual(durable(m));
  });
});
