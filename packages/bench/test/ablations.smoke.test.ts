// `pnpm bench ablations --smoke` end to end: tiny dimensions and two steps per arm, real child
// processes of the `lamina` CLI (pretrain, finetune), the evaluation and the report. Checks that
// the JSON and the markdown are well-formed and that every arm is an ordinary run directory.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAblationResults, renderAblations, type AblationResults } from '../src/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-ablations-smoke-'));
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

describe('pnpm bench ablations --smoke', () => {
  it('runs every arm, writes a well-formed results JSON, ABLATIONS.md and one SVG per table', { timeout: 900_000 }, () => {
    const r = spawnSync(process.execPath, [path.join(repo, 'packages/bench/bin/bench.js'), 'ablations', '--smoke', '--out', out, '--runs', path.join(out, 'runs')], { cwd: repo, encoding: 'utf8' });
    expect(r.stderr.split('\n').filter((l) => /Error|at .*\.ts:\d+/.test(l))).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\[ablations\] \(1\/4\) none-E8-all-s12345: step 2\/2/);

    const files = fs.readdirSync(out);
    const jsonFile = files.find((f) => /^ablations-\d{4}-\d\d-\d\d-smoke\.json$/.test(f));
    expect(jsonFile).toBeDefined();
    const parsed = parseAblationResults(JSON.parse(fs.readFileSync(path.join(out, jsonFile as string), 'utf8')));
    expect(E.isRight(parsed)).toBe(true);
    const res = (parsed as E.Right<AblationResults>).right;
    expect(Object.keys(res.table5).sort()).toEqual(['none', 'nsp', 'sop']);
    for (const k of ['none', 'nsp', 'sop'] as const)
      for (const m of ['mlm', 'nsp', 'sop'] as const) {
        const v = res.table5[k]?.[m] as number;
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(100);
      }
    expect(res.table5.none?.via).toBe('probe');
    expect(Object.keys(res.table4).sort()).toEqual(['128:all', '128:none']);
    expect(Object.keys(res.table3).sort()).toEqual(['128:not-shared', '128:shared']);
    for (const e of Object.values(res.table4)) expect(e.imdb).toBeGreaterThanOrEqual(0);
    expect(res.arms.every((a) => a.error === null)).toBe(true);

    // every arm is an ordinary pretraining run directory, and Table 3/4 arms have a fine-tuning run
    for (const a of res.arms) {
      const dir = path.resolve(repo, a.runDir);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).kind).toBe('lamina-pretraining-run');
      expect(fs.existsSync(path.join(dir, 'checkpoints', 'step-000002', 'COMPLETE'))).toBe(true);
      if (a.finetuneDir) expect(fs.existsSync(path.join(repo, a.finetuneDir, 'eval.json'))).toBe(true);
    }

    const md = fs.readFileSync(path.join(out, 'ABLATIONS.md'), 'utf8');
    for (const h of ['## Table 5: the sentence-level objective', '## Table 4: cross-layer parameter sharing', '## Table 3: the embedding size E']) expect(md).toContain(h);
    expect(md).not.toMatch(/NaN|undefined|\[object/);
    expect(md).toMatch(/^\| none \| .* \| 54\.9 \|/m);
    // the report is a pure function of the JSON
    expect(renderAblations(res, { resultsFile: jsonFile as string, plotDir: '.' })).toBe(md);
    for (const f of ['ablations-table5.svg', 'ablations-table4.svg', 'ablations-table3.svg']) {
      const svg = fs.readFileSync(path.join(out, f), 'utf8');
      expect(svg).toMatch(/^<\?xml[^\n]*\n<svg /);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    }
  });

  it('says what is wrong with bad arguments, in one line, exit 2', () => {
    const r = spawnSync(process.execPath, [path.join(repo, 'packages/bench/bin/bench.js'), 'ablations', '--quick', '--smoke'], { cwd: repo, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--quick and --smoke exclude each other/);
  });
});
