import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureModel, plantedContinuation } from '@patchbay/inference';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'patchbay.mjs');
const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-cli-llm-'));

beforeAll(async () => {
  // The generated planted-bigram model: greedy output is known exactly.
  copyFileSync(await ensureModel('tiny'), join(dataDir, 'tiny.gguf'));
});

function pipeline(name: string, modelPath: string): string {
  const path = join(dataDir, name);
  writeFileSync(
    path,
    `name: Story
mode: oneshot
nodes:
  model: { kind: llm::model, params: { path: ${modelPath}, context_size: 512 } }
  prompt: { kind: text::input, params: { text: 'once upon a' } }
  gen:
    kind: llm::inference
    params: { max_tokens: 32 }
    needs: [{ node: model, to: model }, { node: prompt, to: input }]
  out: { kind: text::output, needs: gen }
`,
  );
  return path;
}

function patchbay(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('patchbay run with task nodes (real node-llama-cpp)', () => {
  it('[X5] text::input → llm::inference → text::output streams the tokens, then prints the final text', () => {
    const r = patchbay('run', pipeline('story.yml', 'tiny.gguf'), '--data-dir', dataDir);
    const expected = plantedContinuation('once upon a', 32).text;
    expect(expected.length).toBeGreaterThan(0);
    expect(r.stderr).toContain('done in');
    expect(r.code).toBe(0);
    // The live tokens, a line end, then the final text of the text::output node.
    expect(r.stdout).toBe(`${expected}\n${expected}\n`);
  });

  it('[X5] with --quiet and --output the final text goes to the file and nothing to stdout', () => {
    const out = join(dataDir, 'story.txt');
    const r = patchbay(
      'run',
      pipeline('story-file.yml', 'tiny.gguf'),
      '--data-dir',
      dataDir,
      '--quiet',
      '--output',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(`${plantedContinuation('once upon a', 32).text}\n`);
  });

  it('[X5] a missing model exits non-zero naming the failed node', () => {
    const r = patchbay('run', pipeline('missing.yml', 'nope.gguf'), '--data-dir', dataDir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/node model failed: .*\[model_not_found\]/);
  });
});
