// The generate section of BENCHMARKS.md comes from a results value (pure), and the report picks
// the newest valid generate results file.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { latestGenerateResults, parseGenerateResults, renderGenerateSection, type GenerateResults, type GenerateRow } from '../src/generate-report.js';

const results = (over: Partial<GenerateResults> = {}): GenerateResults => ({
  schema: 1,
  kind: 'generate',
  date: '2026-12-01T16:00:00.000Z',
  command: 'pnpm bench generate',
  newTokens: 100,
  promptTokens: 10,
  repeats: 3,
  environment: { backend: 'tensorflow', cpuModel: 'AMD EPYC', cpus: 2, loadAverage: [1.25, 2], node: 'v20.0.0', pytorch: { torch: '2.13.0', transformers: '5.18.0', threads: 2 } },
  rows: [
    { model: 'GPT-2 tiny', params: 747520, init: 'random', graph: { n: 3, min: 300, median: 400, max: 500 }, graphFirstSeconds: 2.5, graphEngine: 'graph', cached: { n: 3, min: 90, median: 100, max: 110 }, naive: { n: 3, min: 20, median: 25, max: 30 }, hf: { n: 3, min: 40, median: 50, max: 60 }, sameGreedyIds: true },
    { model: '`gpt2`', params: 124439808, init: 'random', graph: { n: 3, min: 19, median: 20, max: 21 }, graphFirstSeconds: 30, graphEngine: 'eager', cached: { n: 3, min: 9, median: 10, max: 11 }, naive: { n: 3, min: 1, median: 2, max: 3 }, hf: { skipped: 'no Python' }, sameGreedyIds: false },
  ],
  ...over,
});

describe('renderGenerateSection', () => {
  it('renders the rows, the ratios of medians and the environment', () => {
    const md = renderGenerateSection(results(), 'packages/bench/results/generate-2026-12-01.json').join('\n');
    expect(md).toContain('## `lamina generate`: tokens/s for 100 new tokens, with and without the key/value cache');
    expect(md).toContain('from [`packages/bench/results/generate-2026-12-01.json`](packages/bench/results/generate-2026-12-01.json)');
    expect(md).toContain('| GPT-2 tiny | 747,520 | 300 / **400** / 500 | 90.0 / **100** / 110 | 20.0 / **25.0** / 30.0 | 40.0 / **50.0** / 60.0 | **4.00×** | **16.00×** | **8.00×** | yes | 2.50 s |');
    expect(md).toContain('| `gpt2` | 124,439,808 | 19.0 / **20.0** / 21.0 (ran eager) | 9.00 / **10.0** / 11.0 | 1.00 / **2.00** / 3.00 | skipped (no Python) | **2.00×** | **10.00×** | — | **no** | 30.0 s |');
    expect(md).toContain('3 interleaved repeats per system');
    expect(md).toContain('load average (1 min) 1.3 → 2.0');
    expect(md).toContain('torch 2.13.0, transformers 5.18.0, 2 threads');
  });

  it('renders files written before the graph decoder (no graph column) and rows of different repeat counts', () => {
    const { graph: _g, graphFirstSeconds: _f, graphEngine: _e, ...old } = results().rows[0] as GenerateRow;
    const five = { ...old, naive: { n: 5, min: 20, median: 25, max: 30 } };
    const md = renderGenerateSection(results({ rows: [old, five] }), 'f.json').join('\n');
    expect(md).toContain('| GPT-2 tiny | 747,520 | — | 90.0 / **100** / 110 | 20.0 / **25.0** / 30.0 | 40.0 / **50.0** / 60.0 | — | — | — | yes | — |');
    expect(md).toContain('3 (GPT-2 tiny), 5 (GPT-2 tiny) interleaved repeats per system');
  });

  it('is deterministic', () => {
    expect(renderGenerateSection(results(), 'f.json')).toEqual(renderGenerateSection(results(), 'f.json'));
  });
});

describe('parseGenerateResults and latestGenerateResults', () => {
  it('refuses what is not a generate results file', () => {
    expect(parseGenerateResults([])).toEqual(E.left('not a generate results file: expected a JSON object'));
    expect(E.isLeft(parseGenerateResults({ ...results(), kind: 'train' }))).toBe(true);
    const { rows: _rows, ...noRows } = results();
    expect(parseGenerateResults(noRows)).toEqual(E.left('not a generate results file: missing rows'));
  });

  it('picks the newest valid file, skipping broken ones and other results', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-gen-results-'));
    try {
      expect(latestGenerateResults(dir)).toBeUndefined();
      fs.writeFileSync(path.join(dir, 'generate-2026-11-30.json'), JSON.stringify(results({ date: 'older' })));
      fs.writeFileSync(path.join(dir, 'generate-2026-12-01.json'), JSON.stringify(results({ date: 'newer' })));
      fs.writeFileSync(path.join(dir, 'generate-2026-12-02.json'), '{ broken');
      fs.writeFileSync(path.join(dir, '2026-12-03.json'), JSON.stringify({ schema: 1 }));
      const g = latestGenerateResults(dir);
      expect(g?.results.date).toBe('newer');
      expect(g?.file).toBe(path.join(dir, 'generate-2026-12-01.json'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
