#!/usr/bin/env node
// The whole test suite: install (idempotent), type-check the workspace, then every test with vitest.
// Ends with vitest's summary and a plain `N passed, N failed` line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, opts = {}) => {
  console.log(`[lamina test] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return r.status ?? 1;
};
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

if (!process.argv.includes('--no-install')) {
  if (run(process.execPath, ['scripts/bootstrap.mjs']) !== 0) process.exit(1);
  // The Python reference (torch + transformers) for the Hugging Face interop tests. In CI it must
  // work; elsewhere a failure is reported loudly and those tests skip with their reason.
  if (run(process.execPath, ['scripts/python/setup-venv.mjs']) !== 0) {
    if (process.env.CI) {
      console.log('0 passed, 1 failed');
      process.exit(1);
    }
    console.log('[lamina test] WARNING: no Python reference environment; the Hugging Face interop tests will be skipped');
  }
}
if (run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']) !== 0) {
  console.log('type-check failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
// Every package's TSDoc @example blocks and the DSL README's blocks must type-check (scripts/check-examples.mjs).
if (run(process.execPath, ['scripts/check-examples.mjs']) !== 0) {
  console.log('examples failed to type-check');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const report = path.join(root, '.cache', 'vitest-report.json');
fs.mkdirSync(path.dirname(report), { recursive: true });
fs.rmSync(report, { force: true });
const extra = process.argv.slice(2).filter((a) => a !== '--no-install');
const status = run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extra]);
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const r = JSON.parse(fs.readFileSync(report, 'utf8'));
  passed = r.numPassedTests;
  // Count tests. A test file that failed without any failed test in it (it did not load, or a hook
  // failed) ran none of its tests: it counts as one failed test, and is named below.
  const broken = (r.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  );
  for (const f of broken) console.log(`[lamina test] ${path.relative(root, f.name)} failed outside its tests: ${(f.message ?? '').split('\n')[0]}`);
  failed = r.numFailedTests + broken.length;
  skipped = r.numPendingTests + r.numTodoTests;
} catch {
  failed = Math.max(failed, 1);
}
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
