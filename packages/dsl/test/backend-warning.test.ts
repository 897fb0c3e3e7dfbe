// The pure-JS backend is never the silent default: compiling without selectBackend() on tfjs's
// "cpu" backend warns on stderr, loudly and once per process.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = path.join(here, '..', '..', '..', 'node_modules', '.bin', 'tsx');

describe('compile on the pure-JS backend', () => {
  it('warns once, loudly, naming selectBackend()', () => {
    const r = spawnSync(tsx, [path.join(here, 'fixtures', 'pure-js-compile.ts')], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backend cpu/);
    const warnings = r.stderr.split('\n').filter((l) => /WARNING: lamina is running on the pure-JS "cpu" backend/.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Call selectBackend\(\) from @lamina\/dsl before compile/);
  }, 120_000);
});
