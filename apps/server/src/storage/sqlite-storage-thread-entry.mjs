/**
 * Entry of the storage thread. A worker thread does not inherit the TypeScript loader the
 * server may run under, so the loader is registered here when the source is not runnable as is.
 */
try {
  await import('./sqlite-storage-thread.ts');
} catch (cause) {
  if (cause?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw cause;
  const { register } = await import('tsx/esm/api');
  register();
  // A new URL: the failed import above stays cached under the plain one.
  await import('./sqlite-storage-thread.ts?with-loader');
}
