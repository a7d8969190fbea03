#!/usr/bin/env node
// The CLI is TypeScript source like the rest of the monorepo; tsx compiles it on load.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
