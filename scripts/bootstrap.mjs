#!/usr/bin/env node
// Installs the workspace with a pinned pnpm (fetched by npx when pnpm is absent). The root
// `postinstall` then sets up native TensorFlow (scripts/setup-native.mjs). Idempotent and quick
// when everything is already installed.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PNPM = 'pnpm@12.4.2';
const args = ['-y', PNPM, 'install', '--frozen-lockfile', ...process.argv.slice(2)];
console.log(`[lamina] npx ${args.join(' ')}`);
const r = spawnSync('npx', args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`[lamina] install failed (exit ${r.status ?? r.signal})`);
  process.exit(r.status ?? 1);
}
