// `pnpm bench memory` results: the shallow parser, the newest-file lookup, and the report's memory
// section, which shows a separate memory run's rows (named as such) when the rendered run has none.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import { latestMemoryResults, parseMemoryResults, type MemoryResults } from '../src/memory-main.js';
import { renderReport } from '../src/report.js';
import { parseResults } from '../src/results.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const opts = { resultsFile: 'packages/bench/results/fixture.json', plotDir: 'packages/bench/results' };

const sample = (date: string, graphPeak: number): MemoryResults => ({
  schema: 1,
  kind: 'memory',
  date,
  command: 'pnpm bench memory',
  environment: { backend: 'tensorflow', cpuModel: 'Test CPU', cpus: 2, totalMemoryBytes: 24 * 2 ** 30, loadAverage: [0.5, 1.25], node: 'v20' },
  largeMemory: {
    model: 'bert-large',
    batch: 8,
    seq: 128,
    steps: 1,
    rows: [
      { system: 'lamina graph', firstStepPeakBytes: graphPeak * 1.1, stepPeakBytes: graphPeak, stepSeconds: 38.25, optimizer: 'lamb' },
      { system: 'lamina eager', firstStepPeakBytes: null, stepPeakBytes: null, optimizer: 'lamb', error: 'the child process ended with 137 and wrote no figure (out of memory?)' },
      { system: 'Hugging Face PyTorch', firstStepPeakBytes: 6e9, stepPeakBytes: 5e9, optimizer: 'adamw' },
    ],
  },
});

describe('pnpm bench memory results', () => {
  it('parses its own shape and refuses others with the reason', () => {
    expect(E.isRight(parseMemoryResults(sample('2026-12-01T00:00:00Z', 8e9)))).toBe(true);
    expect(parseMemoryResults([])).toEqual(E.left('not a memory results file: expected a JSON object'));
    expect(parseMemoryResults({ schema: 1, kind: 'memory' })).toEqual(E.left('not a memory results file: missing date, command, environment, largeMemory'));
    expect(parseMemoryResults({ ...sample('d', 1), kind: 'generate' })).toMatchObject({ _tag: 'Left' });
    expect(parseMemoryResults({ ...sample('d', 1), largeMemory: { rows: 3 } })).toEqual(E.left('not a memory results file: largeMemory.rows is not a list'));
  });

  it('finds the newest readable memory file, skipping broken and foreign ones', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-mem-'));
    try {
      expect(latestMemoryResults(d)).toBeUndefined();
      fs.writeFileSync(path.join(d, 'memory-2026-11-30.json'), JSON.stringify(sample('2026-11-30T00:00:00Z', 7e9)));
      fs.writeFileSync(path.join(d, 'memory-2026-12-02.json'), '{ not json');
      fs.writeFileSync(path.join(d, 'generate-2026-12-03.json'), JSON.stringify(sample('x', 1)));
      expect(latestMemoryResults(d)?.results.date).toBe('2026-11-30T00:00:00Z');
      fs.writeFileSync(path.join(d, 'memory-2026-12-01.json'), JSON.stringify(sample('2026-12-01T00:00:00Z', 8e9)));
      expect(latestMemoryResults(d)?.file).toBe(path.join(d, 'memory-2026-12-01.json'));
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('the report shows a separate memory run in the memory section, named, with its ratio to PyTorch; its own rows win', () => {
    const r = parseResults(JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')));
    if (E.isLeft(r)) throw new Error(r.left);
    const quick = r.right; // the fixture is a --quick run: no memory rows of its own
    expect(quick.largeMemory).toBeUndefined();
    const md = renderReport(quick, { ...opts, memory: { results: sample('2026-12-01T19:00:00Z', 8e9), file: 'packages/bench/results/memory-2026-12-01.json' } });
    const section = md.slice(md.indexOf('### Peak RSS'), md.indexOf('## 7. Scaling'));
    expect(section).toContain('a separate `pnpm bench memory` run on 2026-12-01T19:00:00Z');
    expect(section).toContain('Test CPU, 2 cores');
    expect(section).toMatch(/\| lamina graph \| lamb \| .* \| 1\.60× \| 38\.3 \|/);
    expect(section).toMatch(/\| Hugging Face PyTorch \| adamw \| .* \| — \| — \|/); // a file without step seconds
    expect(section).toContain('not measured: the child process ended with 137');
    expect(renderReport(quick, opts)).toContain('Not measured in this run');
    const full = { ...quick, largeMemory: sample('own', 9e9).largeMemory };
    const own = renderReport(full, { ...opts, memory: { results: sample('z', 1), file: 'f' } });
    expect(own).not.toContain('a separate `pnpm bench memory` run');
    expect(own).toMatch(/\| lamina graph \| lamb \| .* \| 1\.80× \|/);
  });
});
