// The report is a pure function of a results file: rendering the committed fixture gives the
// committed markdown byte for byte (regenerate the expected file with
// `UPDATE_REPORT_FIXTURE=1 pnpm vitest run packages/bench/test/report.test.ts` after an intended change).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import { parseResults } from '../src/results.js';
import { fmtBytes, fmtInt, fmtNum, fmtSummary, renderPlots, renderReport } from '../src/report.js';
import { parseArgs } from '../src/run.js';
import { ratioOfMedians, summarize } from '../src/stats.js';
import { groupKernels } from '../src/profile.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as unknown;
const opts = { resultsFile: 'packages/bench/results/fixture.json', plotDir: 'packages/bench/results' };

describe('report', () => {
  const r = parseResults(fixture);
  it('reads the fixture as a results file', () => expect(E.isRight(r)).toBe(true));
  if (E.isLeft(r)) return;

  it('renders the fixture to the committed markdown, deterministically', () => {
    const md = renderReport(r.right, opts);
    expect(renderReport(r.right, opts)).toBe(md);
    const expectedFile = path.join(dir, 'report.expected.md');
    if (process.env.UPDATE_REPORT_FIXTURE) fs.writeFileSync(expectedFile, md);
    expect(md).toBe(fs.readFileSync(expectedFile, 'utf8'));
  });

  it('states backend, threads, batch, sequence length and min/median/max with the figures', () => {
    const md = renderReport(r.right, opts);
    expect(md).toContain('backend `tensorflow` (TF 2.21.0), 2 threads, batch 8 × sequence 128');
    expect(md).toContain('min / **median** / max');
    expect(md).toContain('## What we tried and what it bought');
    expect(md).toMatch(/skipped: no Python with torch \+ transformers/);
    expect(md).toContain('222.6M');
  });

  it('renders the plots deterministically as SVG', () => {
    const a = renderPlots(r.right);
    expect(Object.keys(a).sort()).toEqual(['scaling-layers.svg', 'scaling-seq.svg', 'train-throughput.svg']);
    expect(renderPlots(r.right)).toEqual(a);
    for (const svg of Object.values(a)) expect(svg).toMatch(/^<\?xml[^\n]*\n<svg /);
  });
});

describe('results and formatting', () => {
  it('rejects what is not a results file, saying why', () => {
    expect(parseResults([])).toEqual(E.left('not a bench results file: expected a JSON object'));
    expect(E.isLeft(parseResults({ schema: 1 })) && (parseResults({ schema: 1 }) as E.Left<string>).left).toMatch(/missing date, environment/);
    expect(parseResults({ ...(fixture as object), schema: 2 })).toEqual(E.left('unsupported results schema 2 (expected 1)'));
  });

  it('formats numbers without locale or clock', () => {
    expect(fmtInt(11683584)).toBe('11,683,584');
    expect(fmtNum(1234.5678)).toBe('1235');
    expect(fmtNum(0.012345)).toBe('0.01235');
    expect(fmtNum(null)).toBe('—');
    expect(fmtBytes(3 * 2 ** 30)).toBe('3.00 GiB');
    expect(fmtSummary({ n: 3, min: 1, median: 2, max: 3 })).toBe('1 / **2** / 3');
  });

  it('summarises samples and takes ratios of medians', () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ n: 4, min: 1, median: 2.5, max: 4 });
    expect(summarize([])).toMatchObject({ n: 0 });
    expect(ratioOfMedians([300, 310, 320], [150, 155, 160])).toBe(2);
  });

  it('groups profiled kernels by name, leaving composites out', () => {
    expect(
      groupKernels([
        { kernelName: 'Add', kernelTimeMs: 1 },
        { kernelName: 'fusedMatMul__op', kernelTimeMs: 9 },
        { kernelName: 'forward', kernelTimeMs: 9 },
        { kernelName: 'Add', kernelTimeMs: 2 },
        { kernelName: 'BatchMatMul', kernelTimeMs: 5 },
      ]),
    ).toEqual([
      { kernel: 'BatchMatMul', calls: 1, ms: 5 },
      { kernel: 'Add', calls: 2, ms: 3 },
    ]);
  });

  it('parses the command line, unknown flags as errors', () => {
    expect(parseArgs(['--quick'])).toEqual(E.right({ quick: true, python: true, report: undefined }));
    expect(E.isLeft(parseArgs(['--fast']))).toBe(true);
    expect(E.isLeft(parseArgs(['--report']))).toBe(true);
  });
});
