import { describe, expect, it } from 'vitest';

// The committed generated/compositor-wasm.ts must be what the AssemblyScript source compiles
// to today (asc takes ~4 s here). The build script is plain Node ESM outside the engine's
// sources, so it is loaded by URL: the engine's tsconfig has no Node types.
const here = (import.meta as unknown as { url: string }).url;
const script = here.replace(
  /src\/nodes\/video\/compositor\/kernels\/[^/]+$/,
  'scripts/build-kernel.mjs',
);

describe('generated WebAssembly module', () => {
  it('is up to date with assembly/compositor.ts (else run build:kernel)', async () => {
    const build = (await import(/* @vite-ignore */ script)) as {
      checkGenerated(): Promise<{ upToDate: boolean; path: string }>;
    };
    const { upToDate, path } = await build.checkGenerated();
    expect(upToDate, `${path} is stale: npm run build:kernel -w @patchbay/engine`).toBe(true);
  }, 60_000);
});
