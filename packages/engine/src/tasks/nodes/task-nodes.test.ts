import { describe, expect, it } from 'vitest';
import { err, ok, problem } from '@patchbay/protocol';
import { utf8Encode } from '../../nodes/io/oneshot-io';
import { FILE_STORE_SERVICE } from '../task-services';
import type { FileStore } from '../task-services';
import { utf8Decode } from '../utf8';
import { add, link, taskEngine, until, value } from '../testing/task-harness';

describe('X3 flow::conditional', () => {
  async function branchRun(text: string) {
    const t = taskEngine();
    await t.build([
      add('in', 'text::input', { text }),
      add('if', 'flow::conditional', { operator: 'equals', value: 'yes' }),
      add('yes', 'test::count', { label: 'yes' }),
      add('yes2', 'test::count', { label: 'yes2' }),
      add('no', 'test::count', { label: 'no' }),
      add('merge', 'flow::merge'),
      link('in', 'if'),
      link('if', 'yes', undefined, 'true'),
      link('yes', 'yes2'),
      link('if', 'no', undefined, 'false'),
      link('yes2', 'merge'),
      link('no', 'merge'),
    ]);
    const r = await t.demandAndWait('merge');
    return { t, ...r };
  }

  it('[X3] the branch not taken is pruned: its nodes are reported skipped and never run', async () => {
    const { t, run, end } = await branchRun('yes');
    expect(end).toMatchObject({ type: 'run_completed', output: ['yes2(yes(yes))'] });
    expect(t.nodesWith(run, 'node_run_skipped')).toEqual(['no']);
    expect(t.executions.get('no')).toBeUndefined();

    const other = await branchRun('no');
    expect(other.end).toMatchObject({ output: ['no(no)'] });
    // Downstream of the pruned branch is skipped too, never run with a null.
    expect(other.t.nodesWith(other.run, 'node_run_skipped').sort()).toEqual(['yes', 'yes2']);
    expect(other.t.executions.get('yes2')).toBeUndefined();
  });

  it('[X3] demanding a node on the pruned branch completes with no output', async () => {
    const t = taskEngine();
    await t.build([
      add('in', 'text::input', { text: 'false' }),
      add('if', 'flow::conditional'),
      add('then', 'test::count'),
      link('in', 'if'),
      link('if', 'then', undefined, 'true'),
    ]);
    const { run, end } = await t.demandAndWait('then');
    expect(end).toEqual({ type: 'run_completed', run });
    expect(t.nodesWith(run, 'node_run_skipped')).toEqual(['then']);
  });

  it('[X3] operators: truthy, contains, matches, a separate condition pin', async () => {
    const t = taskEngine();
    await t.build([
      add('v', 'text::input', { text: 'the answer is 42' }),
      add('c', 'text::input', { text: '0' }),
      add('has', 'flow::conditional', { operator: 'contains', value: 'answer' }),
      add('re', 'flow::conditional', { operator: 'matches', value: '\\d+$' }),
      add('cond', 'flow::conditional'),
      link('v', 'has'),
      link('v', 're'),
      link('v', 'cond'),
      link('c', 'cond', 'condition'),
    ]);
    expect((await t.demandAndWait('has')).end).toMatchObject({
      output: { true: 'the answer is 42' },
    });
    expect((await t.demandAndWait('re')).end).toMatchObject({
      output: { true: 'the answer is 42' },
    });
    // "0" on the condition pin is false; the routed value is still `in`.
    expect((await t.demandAndWait('cond')).end).toMatchObject({
      output: { false: 'the answer is 42' },
    });
    const bad = await t.engine.addNode('x', 'flow::conditional', {
      operator: 'matches',
      value: '(',
    });
    expect(bad.ok ? undefined : bad.error.code).toBe('bad_params');
  });
});

describe('X3 flow::merge', () => {
  it('[X3] several edges into the multiple-input pin aggregate into a list in edge order', async () => {
    const t = taskEngine();
    await t.build([
      add('c', 'text::input', { text: 'third' }),
      add('a', 'text::input', { text: 'first' }),
      add('b', 'text::input', { text: 'second' }),
      add('m', 'flow::merge'),
      // Edge order, not id or creation order.
      link('a', 'm'),
      link('b', 'm'),
      link('c', 'm'),
    ]);
    expect((await t.demandAndWait('m')).end).toMatchObject({
      output: ['first', 'second', 'third'],
    });
    const pins = t.engine.snapshot().connections.map((c) => `${c.from.node}>${c.to.pin}`);
    expect(pins.sort()).toEqual(['a>in_0', 'b>in_1', 'c>in_2']);
  });
});

describe('X3 text nodes', () => {
  it('[X3] text::template fills {{name}} slots from the pins of the same names', async () => {
    const t = taskEngine();
    await t.build([
      add('who', 'text::input', { text: 'Ada' }),
      add('data', 'json::filter', { path: '' }),
      add('tpl', 'text::template', { template: 'Hello {{ who }}, you are {{who}} ({{n}})' }),
      add('num', 'text::input', { text: '{"k": [1, 2]}' }),
      link('num', 'data'),
      link('who', 'tpl', 'who'),
      link('data', 'tpl', 'n'),
    ]);
    expect((await t.demandAndWait('tpl')).end).toMatchObject({
      output: 'Hello Ada, you are Ada ({"k":[1,2]})',
    });
    const pins = t.engine.snapshot().nodes.find((n) => n.id === 'tpl')?.pins.inputs;
    expect(pins?.map((p) => p.name)).toEqual(['who', 'n']);
  });

  it('[X3] a template slot with nothing connected is a clear node failure', async () => {
    const t = taskEngine();
    await t.build([add('tpl', 'text::template', { template: 'Dear {{name}}' })]);
    const { end } = await t.demandAndWait('tpl');
    expect(end).toMatchObject({ type: 'run_failed', code: 'bad_request' });
    expect(end.type === 'run_failed' ? end.reason : '').toContain('{{name}}');
  });
});

describe('X3 json::filter', () => {
  async function filter(path: string, json: string) {
    const t = taskEngine();
    await t.build([
      add('in', 'text::input', { text: json }),
      add('f', 'json::filter', { path }),
      link('in', 'f'),
    ]);
    return (await t.demandAndWait('f')).end;
  }
  const doc = JSON.stringify({ a: { b: [{ c: 'deep' }, { c: 2 }], 'odd key': true } });

  it('[X3] follows a.b[0].c paths (with $ and quoted keys)', async () => {
    expect(await filter('a.b[0].c', doc)).toMatchObject({ output: 'deep' });
    expect(await filter('$.a.b[1]', doc)).toMatchObject({ output: { c: 2 } });
    expect(await filter('a["odd key"]', doc)).toMatchObject({ output: true });
    expect(await filter('', doc)).toMatchObject({ output: JSON.parse(doc) as unknown });
  });

  it('[X3] a missing key, an index out of range, a wrong type and bad JSON are clear failures', async () => {
    expect(await filter('a.x', doc)).toMatchObject({
      code: 'not_found',
      reason: 'path a.x: key "x" not found at $.a',
    });
    expect(await filter('a.b[5].c', doc)).toMatchObject({
      code: 'not_found',
      reason: 'path a.b[5].c: index 5 is out of range at $.a.b (length 2)',
    });
    expect(await filter('a.b.c', doc)).toMatchObject({ code: 'schema_mismatch' });
    expect(await filter('a', '{not json')).toMatchObject({ code: 'json_invalid' });
  });

  it('[X3] bad path syntax is refused when the node is added, naming the column', async () => {
    const t = taskEngine();
    for (const path of ['a..b', 'a[', 'a[x]', 'a[-1]', '.a', 'a b']) {
      const r = await t.engine.addNode(`f${path.length}${path.charCodeAt(1)}`, 'json::filter', {
        path,
      });
      expect(r.ok, path).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('bad_params');
        expect(r.error.message).toMatch(/bad path .* at column \d+/);
      }
    }
  });
});

describe('X3 json::validator', () => {
  const schema = {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  };
  async function validate(json: string, s: unknown = schema) {
    const t = taskEngine();
    await t.build([
      add('in', 'text::input', { text: json }),
      add('v', 'json::validator', { schema: s }),
      link('in', 'v'),
    ]);
    return (await t.demandAndWait('v')).end;
  }

  it('[X3] valid input passes through as JSON', async () => {
    expect(await validate('{"name":"Ada","age":36}')).toMatchObject({
      type: 'run_completed',
      output: { name: 'Ada', age: 36 },
    });
  });

  it('[X3] invalid input fails with schema_mismatch naming each place', async () => {
    const end = await validate('{"age":-1}');
    expect(end).toMatchObject({ type: 'run_failed', code: 'schema_mismatch' });
    const reason = end.type === 'run_failed' ? end.reason : '';
    expect(reason).toContain('name');
    expect(reason).toContain('#/age');
  });

  it('[X3] a JSON string from a json pin stays a string; text from an any pin parses when it can', async () => {
    const t = taskEngine();
    await t.build([
      add('in', 'text::input', { text: '{"name":"blue"}' }),
      add('pick', 'json::filter', { path: 'name' }),
      add('v', 'json::validator', { schema: { enum: ['blue'] } }),
      add('ask', 'human::input'),
      add('v2', 'json::validator', { schema: { type: 'object' } }),
      add('v3', 'json::validator', { schema: { type: 'string' } }),
      add('ask2', 'human::input'),
      link('in', 'pick'),
      link('pick', 'v'),
      link('ask', 'v2'),
      link('ask2', 'v3'),
    ]);
    expect((await t.demandAndWait('v')).end).toMatchObject({ output: 'blue' });
    const r2 = value(await t.engine.demand('v2')).run;
    await until(() => t.nodesWith(r2, 'node_run_waiting').length === 1, t.clock);
    value(await t.engine.answer(r2, 'ask', '{"a": 1}'));
    expect(await t.waitEnd(r2)).toMatchObject({ output: { a: 1 } });
    const r3 = value(await t.engine.demand('v3')).run;
    await until(() => t.nodesWith(r3, 'node_run_waiting').length === 1, t.clock);
    value(await t.engine.answer(r3, 'ask2', 'plain words'));
    expect(await t.waitEnd(r3)).toMatchObject({ output: 'plain words' });
  });

  it('[X3] an invalid schema is refused when the node is added', async () => {
    const t = taskEngine();
    for (const [i, s] of [
      { type: 'strnig' },
      { required: 'name' },
      { properties: { a: { type: 5 } } },
      { pattern: '(' },
      'not a schema',
    ].entries()) {
      const r = await t.engine.addNode(`v${i}`, 'json::validator', { schema: s });
      expect(r.ok ? undefined : r.error.code, JSON.stringify(s)).toBe('bad_params');
      expect(r.ok ? '' : r.error.message).toContain('invalid schema');
    }
  });
});

describe('X3 file::read / file::write', () => {
  function memoryStore(): FileStore & { files: Map<string, string> } {
    const files = new Map<string, string>();
    const refuse = (p: string) =>
      p.includes('..') || p.startsWith('/')
        ? err(problem('path_not_allowed', `${p}: outside the data directory`))
        : undefined;
    return {
      files,
      resolve: async (p) => refuse(p) ?? ok(`/data/${p}`),
      read: async (p) => {
        const refused = refuse(p);
        if (refused) return refused;
        const text = files.get(p);
        return text === undefined
          ? err(problem('not_found', `${p}: no such file`))
          : ok(utf8Encode(text));
      },
      write: async (p, data) => refuse(p) ?? (files.set(p, utf8Decode(data)), ok(undefined)),
    };
  }

  it('[X3] reads and writes through the host file store', async () => {
    const store = memoryStore();
    store.files.set('in.txt', 'héllo');
    const t = taskEngine({ services: { [FILE_STORE_SERVICE]: store } });
    await t.build([
      add('r', 'file::read', { path: 'in.txt' }),
      add('w', 'file::write', { path: 'out/copy.txt' }),
      link('r', 'w'),
    ]);
    expect((await t.demandAndWait('w')).end).toMatchObject({
      output: { path: 'out/copy.txt', bytes: 6 },
    });
    expect(store.files.get('out/copy.txt')).toBe('héllo');
  });

  it('[X3] a traversal is refused when added (engine sandbox) and a store refusal is a node failure', async () => {
    const store = memoryStore();
    const t = taskEngine({ services: { [FILE_STORE_SERVICE]: store } });
    const added = await t.engine.addNode('r', 'file::read', { path: '../etc/passwd' });
    expect(added.ok ? undefined : added.error.code).toBe('path_not_allowed');
    // A tune cannot move a path out either, alone or in a batch; the old path stays.
    await t.build([add('w', 'file::write', { path: 'ok.txt' })]);
    const tuned = await t.engine.tune('w', { path: '/etc/passwd' });
    expect(tuned.ok ? undefined : tuned.error.code).toBe('path_not_allowed');
    const batch = await t.engine.validateBatch([
      { op: 'tune', id: 'w', params: { path: 'a/../../x' } },
    ]);
    expect(batch.map((p) => p.code)).toEqual(['path_not_allowed']);
    expect(t.engine.snapshot().nodes.find((n) => n.id === 'w')?.params.path).toBe('ok.txt');
    // A host sandbox that is looser at add time still has the store refuse at run time.
    const loose = taskEngine({
      services: { [FILE_STORE_SERVICE]: store },
      policy: { checkPath: () => undefined },
    });
    await loose.build([add('r', 'file::read', { path: '../secret' })]);
    const { run, end } = await loose.demandAndWait('r');
    expect(end).toMatchObject({ type: 'run_failed', node: 'r', code: 'path_not_allowed' });
    expect(loose.runEvents(run)).toContainEqual(
      expect.objectContaining({ type: 'node_run_failed', node: 'r', code: 'path_not_allowed' }),
    );
    const missing = taskEngine({ services: { [FILE_STORE_SERVICE]: store } });
    await missing.build([add('r', 'file::read', { path: 'nope.txt' })]);
    expect((await missing.demandAndWait('r')).end).toMatchObject({ code: 'not_found' });
  });
});

describe('X3 node kinds in the registry', () => {
  it('[X3] every task kind is listed with pins, a JSON Schema for params and a description', () => {
    const { registry } = taskEngine();
    const kinds = registry.list().filter((k) => k.task);
    expect(kinds.map((k) => k.kind).sort()).toEqual(
      [
        'file::read',
        'file::write',
        'flow::conditional',
        'flow::merge',
        'human::input',
        'json::filter',
        'json::validator',
        'llm::inference',
        'llm::model',
        'llm::openai',
        'llm::unload',
        'test::count',
        'text::input',
        'text::output',
        'text::template',
      ].sort(),
    );
    for (const k of kinds) {
      expect(k.description.length, k.kind).toBeGreaterThan(10);
      expect(k.paramsSchema, k.kind).toMatchObject({ type: 'object' });
      expect(k.inputs.length + k.outputs.length, k.kind).toBeGreaterThan(0);
    }
    // Streaming kinds stay in the same list.
    expect(registry.list().find((k) => k.kind === 'audio::sine')?.task).toBe(false);
  });
});
