#!/usr/bin/env node
// `pnpm bench [--quick]`: runs lamina's benchmarks and regenerates BENCHMARKS.md. Sources are
// TypeScript, run through tsx's loader (no build step), like the `lamina` CLI.
import { register } from 'tsx/esm/api';

process.env.TF_CPP_MIN_LOG_LEVEL ??= '3';
register();
const { main } = await import('../src/run.ts');
process.exitCode = await main(process.argv.slice(2));
