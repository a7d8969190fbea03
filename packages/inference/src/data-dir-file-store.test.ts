import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirFileStore } from './data-dir-file-store';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

let base: string;
let dataDir: string;
let outside: string;
let store: DataDirFileStore;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'patchbay-store-'));
  dataDir = join(base, 'data');
  outside = join(base, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret.txt'), 'secret');
  store = new DataDirFileStore(dataDir);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function code(p: Promise<{ ok: boolean; error?: { code: string } }>): Promise<string> {
  const r = await p;
  return r.ok ? 'ok' : r.error!.code;
}

describe('DataDirFileStore', () => {
  it('[X3] a nested write creates folders and round-trips through read', async () => {
    expect(await code(store.write('notes/2026/today.txt', bytes('hello')))).toBe('ok');
    const r = await store.read('notes/2026/today.txt');
    expect(r.ok && text(r.value)).toBe('hello');
    expect(await readFile(join(dataDir, 'notes/2026/today.txt'), 'utf8')).toBe('hello');
    const resolved = await store.resolve('./notes//2026/today.txt');
    expect(resolved.ok && resolved.value.endsWith(join('data', 'notes', '2026', 'today.txt'))).toBe(
      true,
    );
  });

  it('[X3] an overwrite replaces the content and leaves no temporary files', async () => {
    await store.write('a.txt', bytes('one'));
    await store.write('a.txt', bytes('two, longer'));
    const r = await store.read('a.txt');
    expect(r.ok && text(r.value)).toBe('two, longer');
    expect(await readdir(dataDir)).toEqual(['a.txt']);
  });

  it('[X3] traversal, absolute paths and NUL bytes are path_not_allowed', async () => {
    for (const p of [
      '../x',
      'a/../../x',
      'a/../b',
      '..',
      '/etc/passwd',
      'C:/Windows/win.ini',
      '..\\x',
      'a\0b',
      '',
      '.',
      './',
    ]) {
      expect(await code(store.read(p)), p).toBe('path_not_allowed');
      expect(await code(store.write(p, bytes('x'))), p).toBe('path_not_allowed');
      expect(await code(store.resolve(p)), p).toBe('path_not_allowed');
    }
    // Nothing landed beside the data directory (where `../x` would have gone).
    expect(await readdir(base)).not.toContain('x');
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
  });

  it('[X3] a symlinked file pointing outside is refused for read and write', async () => {
    await mkdir(dataDir, { recursive: true });
    await symlink(join(outside, 'secret.txt'), join(dataDir, 'link.txt'));
    await symlink(tmpdir(), join(dataDir, 'tmp-link'));
    expect(await code(store.read('link.txt'))).toBe('path_not_allowed');
    expect(await code(store.write('link.txt', bytes('overwritten')))).toBe('path_not_allowed');
    expect(await code(store.read('tmp-link'))).toBe('path_not_allowed');
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
  });

  it('[X3] a symlinked folder pointing outside is refused at any depth', async () => {
    await mkdir(join(dataDir, 'inner'), { recursive: true });
    await symlink(outside, join(dataDir, 'inner', 'out'));
    expect(await code(store.read('inner/out/secret.txt'))).toBe('path_not_allowed');
    expect(await code(store.write('inner/out/new.txt', bytes('x')))).toBe('path_not_allowed');
    expect(await code(store.write('inner/out/deeper/new.txt', bytes('x')))).toBe(
      'path_not_allowed',
    );
    expect((await readdir(outside)).sort()).toEqual(['secret.txt']);
  });

  it('[X3] a broken symlink is refused: where it leads cannot be checked', async () => {
    await mkdir(dataDir, { recursive: true });
    await symlink(join(outside, 'missing.txt'), join(dataDir, 'dangling.txt'));
    expect(await code(store.write('dangling.txt', bytes('x')))).toBe('path_not_allowed');
    expect((await readdir(outside)).sort()).toEqual(['secret.txt']);
  });

  it('[X3] symlinks that stay inside the data directory are followed', async () => {
    await store.write('real/file.txt', bytes('inside'));
    await symlink(join(dataDir, 'real'), join(dataDir, 'alias'));
    const r = await store.read('alias/file.txt');
    expect(r.ok && text(r.value)).toBe('inside');
  });

  it('a missing file is not_found; a folder is not a file', async () => {
    expect(await code(store.read('nothing-here.txt'))).toBe('not_found');
    await store.write('dir/file.txt', bytes('x'));
    expect(await code(store.read('dir'))).toBe('not_found');
    expect(await code(store.read('dir/file.txt/below'))).toBe('not_found');
  });

  it('a failed write keeps the old content', async () => {
    await store.write('keep.txt', bytes('old'));
    await mkdir(join(dataDir, 'folder'));
    expect(await code(store.write('folder', bytes('x')))).toBe('storage_failed');
    expect(await code(store.write('keep.txt/child', bytes('x')))).toBe('storage_failed');
    const r = await store.read('keep.txt');
    expect(r.ok && text(r.value)).toBe('old');
    expect((await readdir(dataDir)).sort()).toEqual(['folder', 'keep.txt']);
  });
});
