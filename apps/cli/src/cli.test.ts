import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'patchbay.mjs');
const dir = mkdtempSync(join(tmpdir(), 'patchbay-cli-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs the real CLI binary as a user would. */
function patchbay(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'buffer', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

describe('patchbay CLI', () => {
  it('run writes the io::output bytes to --output and exits 0', () => {
    const yml = file(
      'tone.yml',
      `name: Tone
mode: oneshot
nodes:
  tone:
    kind: audio::sine
    params: { frequency_hz: 440, duration_ms: 500 }
  quiet:
    kind: audio::gain
    params: { gain: 0.5 }
    needs: tone
  out:
    kind: io::output
    needs: quiet
`,
    );
    const out = join(dir, 'tone.f32');
    const r = patchbay('run', yml, '--output', out);
    expect(r.stderr).toContain('done in');
    expect(r.code).toBe(0);
    const bytes = readFileSync(out);
    expect(bytes.length).toBe(24_000 * 4);
    const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    expect(Math.max(...samples)).toBeCloseTo(0.25, 3);
  });

  it('run binds --input NAME=FILE to io::input and streams to stdout by default', () => {
    const input = file('payload.bin', 'x'.repeat(70_000));
    const yml = file(
      'copy.yml',
      `mode: oneshot
steps:
  - kind: streamkit::http_input
    params: { name: media }
  - kind: core::passthrough
  - kind: streamkit::http_output
`,
    );
    const r = patchbay('run', yml, '--input', `media=${input}`, '--quiet');
    expect(r.code).toBe(0);
    expect(r.stdout.toString('utf8')).toBe('x'.repeat(70_000));
  });

  it('run exits non-zero naming the failed node', () => {
    const yml = file(
      'broken.yml',
      `mode: oneshot
nodes:
  media:
    kind: io::input
    params: { name: upload }
  out:
    kind: io::output
    needs: media
`,
    );
    const r = patchbay('run', yml, '--output', join(dir, 'broken.out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run failed');
    expect(r.stderr).toMatch(/node media failed: .*no input bound to name "upload"/);
  });

  it('run writes an Ogg Opus file from samples/ that starts with the Ogg and OpusHead magic', () => {
    const out = join(dir, 'tone.ogg');
    const r = patchbay(
      'run',
      resolve(import.meta.dirname, '..', '..', '..', 'samples', 'tone-ogg-opus.yml'),
      '--output',
      out,
      '--quiet',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const bytes = readFileSync(out);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(bytes.subarray(28, 36).toString('latin1')).toBe('OpusHead');
  });

  it('validate prints every problem with its node and exits non-zero', () => {
    const yml = file(
      'bad.yml',
      `nodes:
  a:
    kind: audio::sine
    params: { frequency_hz: "loud" }
  b:
    kind: audio::reverb
    needs: a
  c:
    kind: audio::gain
    needs: ghost
`,
    );
    const r = patchbay('validate', yml);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a.*frequency_hz/);
    expect(r.stderr).toMatch(/b.*audio::reverb/);
    expect(r.stderr).toMatch(/c.*ghost/);
  });

  it('validate accepts a good pipeline and says what it holds', () => {
    const yml = file(
      'good.yml',
      `nodes:
  bg: { kind: video::colorbars, params: { width: 320, height: 180 } }
  sink: { kind: core::sink, needs: bg }
`,
    );
    const r = patchbay('validate', yml);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toContain('ok (2 nodes, 1 connections)');
  });

  it('usage errors exit 2 with the usage text', () => {
    expect(patchbay('run').code).toBe(2);
    expect(patchbay('frobnicate').stderr).toContain('usage:');
    expect(patchbay('run', join(dir, 'missing.yml')).stderr).toContain('no such file');
  });
});
