import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * The file-path sandbox for node params that name files (engine `pathParams`): a path is
 * relative to the data directory and must stay inside it. Returns why a path is refused.
 */
export function confineToDir(dir: string): (path: string) => string | undefined {
  const root = resolve(dir);
  return (path) => {
    if (path.includes('\0')) return 'a path may not contain NUL';
    if (isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.startsWith('\\'))
      return 'absolute paths are refused; paths are relative to the data directory';
    const full = resolve(root, path);
    const rel = relative(root, full);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel))
      return 'paths may not leave the data directory';
    return undefined;
  };
}
