/**
 * `FileStore` confined to one data directory (X3 `read-file` / `write-file`, model paths).
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { err, ok, problem } from '@patchbay/protocol';
import type { ErrorCode, Result } from '@patchbay/protocol';
import type { FileStore } from '@patchbay/engine';

function fail<T>(code: ErrorCode, message: string): Result<T> {
  return err(problem(code, message));
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The path's segments when it is a plain relative path: not empty, no NUL, not absolute (POSIX,
 * Windows drive or UNC), no backslash (a separator elsewhere, a file-name character here: refused
 * so a path means the same on every host), and no `..` segment anywhere.
 */
function lexicalSegments(relativePath: string): Result<string[]> {
  const refuse = (why: string) =>
    fail<string[]>('path_not_allowed', `path ${JSON.stringify(relativePath)} ${why}`);
  if (typeof relativePath !== 'string' || relativePath.length === 0) return refuse('is empty');
  if (relativePath.includes('\0')) return refuse('contains a NUL byte');
  if (relativePath.startsWith('/') || /^[a-zA-Z]:/.test(relativePath)) {
    return refuse('is absolute; paths are relative to the data directory');
  }
  if (relativePath.includes('\\')) return refuse('contains a backslash; use / between folders');
  const segments = relativePath.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return refuse('contains ..; paths may not leave the data directory');
  if (segments.length === 0) return refuse('names the data directory itself, not a file');
  return ok(segments);
}

/**
 * Files under one directory. Every operation first checks the path: lexically (see above), then
 * on disk, resolving symlinks in every existing component, the final file included, so a link
 * that leads out of the directory is refused (`path_not_allowed`), whether it names a file or a
 * folder. Writes create parent folders and replace the file atomically (temp file + rename), so a
 * reader sees the old content or the new, never a mix, and a failed write leaves the old file.
 */
export class DataDirFileStore implements FileStore {
  private root: Promise<string> | undefined;

  /** `dataDir` is created on first use if missing. */
  constructor(private readonly dataDir: string) {}

  private realRoot(): Promise<string> {
    this.root ??= mkdir(this.dataDir, { recursive: true }).then(() => realpath(this.dataDir));
    this.root.catch(() => (this.root = undefined));
    return this.root;
  }

  private inside(root: string, real: string): boolean {
    return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
  }

  async resolve(relativePath: string): Promise<Result<string>> {
    const segments = lexicalSegments(relativePath);
    if (!segments.ok) return segments;
    let root: string;
    try {
      root = await this.realRoot();
    } catch (e) {
      return fail('storage_failed', `data directory ${this.dataDir} is unusable: ${String(e)}`);
    }
    const target = join(root, ...segments.value);
    // The deepest component that exists decides: realpath resolves every link up to it, and
    // nothing below it exists yet, so nothing below it can be a link.
    for (let n = segments.value.length; n >= 0; n--) {
      const p = join(root, ...segments.value.slice(0, n));
      const info = await lstat(p).catch((e: unknown) => e as NodeJS.ErrnoException);
      if (info instanceof Error) {
        if (errno(info) === 'ENOENT' || errno(info) === 'ENOTDIR') continue;
        return fail('storage_failed', `cannot inspect ${relativePath}: ${info.message}`);
      }
      let real: string;
      try {
        real = await realpath(p);
      } catch {
        // A dangling link: where it would lead cannot be checked, so it may lead anywhere.
        return fail(
          'path_not_allowed',
          `path ${JSON.stringify(relativePath)} goes through a broken symlink`,
        );
      }
      if (!this.inside(root, real)) {
        return fail(
          'path_not_allowed',
          `path ${JSON.stringify(relativePath)} leads out of the data directory through a symlink`,
        );
      }
      return ok(target);
    }
    return ok(target);
  }

  async read(relativePath: string): Promise<Result<Uint8Array>> {
    const resolved = await this.resolve(relativePath);
    if (!resolved.ok) return resolved;
    try {
      const bytes = await readFile(resolved.value);
      return ok(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      const code = errno(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        return fail('not_found', `no file ${JSON.stringify(relativePath)} in the data directory`);
      }
      if (code === 'EISDIR') {
        return fail('not_found', `${JSON.stringify(relativePath)} is a folder, not a file`);
      }
      return fail('storage_failed', `cannot read ${relativePath}: ${(e as Error).message}`);
    }
  }

  async write(relativePath: string, data: Uint8Array): Promise<Result<void>> {
    const resolved = await this.resolve(relativePath);
    if (!resolved.ok) return resolved;
    const target = resolved.value;
    const temp = join(dirname(target), `.${randomUUID()}.tmp`);
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(temp, data, { flag: 'wx' });
      // rename replaces a link at `target` itself, never the file it points to.
      await rename(temp, target);
      return ok(undefined);
    } catch (e) {
      await rm(temp, { force: true }).catch(() => {});
      const code = errno(e);
      const why = code === 'EISDIR' ? 'it is a folder' : (e as Error).message;
      return fail('storage_failed', `cannot write ${relativePath}: ${why}`);
    }
  }
}
