// The ceiling of the like-for-like rows (achieved GFLOP/s per system, utilisation of the matmul
// rate, matmul rate ÷ PyTorch's rate), its verdict in the Summary and section 4, and the results
// file's new field.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { tinyConfig } from '@lamina/albert';
import { ceilingRows, LIKE_FOR_LIKE_SYSTEMS, reachability } from '../src/ceiling.js';
import { parseResults, type Results } from '../src/results.js';
import { reachableCell, renderReport } from '../src/report.js';
import type { Measurement } from '../src/measure.js';
import { rates, summarize } from '../src/stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const base = parseResults(JSON.parse(fs.readFileSync(path.join(here, 'fixtures', 'results.json'), 'utf8')));
if (E.isLeft(base)) throw new Error(base.left);

const m = (mode: Measurement['mode'], model: string, system: Measurement['system'], seconds: number[], over: Partial<Measurement> = {}): Measurement => ({
  id: `${mode}:${model}:${system}`,
  model,
  system,
  mode,
  batch: 8,
  seq: 128,
  optimizer: 'adamw',
  tokensPerStep: 1024,
  config: tinyConfig(),
  seconds,
  stepSeconds: summarize(seconds),
  tokensPerSecond: summarize(rates(seconds, 1024)),
  peakRssBytes: null,
  tfBytes: null,
  ...over,
});

// forward 100 GFLOP: a training step is 300 GFLOP, so 3 s per step is 100 GFLOP/s
const fwd = (model: string): number | null => (model === 'albert-base' ? 100e9 : model === 'bert-base' ? 200e9 : null);
const measurements = [
  m('train', 'albert-base', 'lamina', [3, 3, 4]),
  m('train', 'albert-base', 'pytorch', [4, 5, 6]),
  m('train', 'albert-base', 'lamina-masked', [1, 1, 1]),
  m('train', 'albert-base', 'handwritten', [], { error: 'skipped' }),
  m('train', 'albert-base', 'tf-graph', [1], { optimizer: 'lamb' }), // a masked LAMB mirror: other work
  m('infer', 'albert-base', 'lamina', [1, 1]),
  m('infer', 'albert-base', 'pytorch', [0.8, 0.8]),
  m('train', 'bert-base', 'lamina', [6, 6]),
  m('train', 'tiny', 'pytorch', [0.1]),
];

describe('ceilingRows', () => {
  const rows = ceilingRows(measurements, fwd, 120);
  it('has one row per mode and model with a like-for-like measurement, albert-base and bert-base only', () => {
    expect(rows.map((r) => `${r.mode}:${r.model}`)).toEqual(['train:albert-base', 'train:bert-base', 'infer:albert-base']);
  });
  it('counts 3 × forward for training and the forward for inference, the same for every system of a row', () => {
    const [tr, , inf] = rows;
    expect(tr?.stepFlops).toBe(300e9);
    expect(inf?.stepFlops).toBe(100e9);
    expect(tr?.systems.map((s) => s.system)).toEqual(['lamina', 'pytorch']); // masked, LAMB and failed systems left out
    expect(tr?.systems[0]?.achievedGflops.median).toBeCloseTo(100, 9);
    expect(tr?.systems[1]?.achievedGflops.median).toBeCloseTo(60, 9);
    expect(tr?.systems[0]?.utilisation).toBeCloseTo(100 / 120, 12);
  });
  it('sets the ceiling to matmul rate ÷ PyTorch, and no ceiling without PyTorch', () => {
    expect(rows[0]?.ceiling).toBeCloseTo(2, 12);
    expect(rows[0]?.ratioKey).toBe('train_vs_pytorch');
    expect(rows[0]?.target).toBe(1.5);
    expect(rows[1]?.ceiling).toBeNull();
    expect(rows[2]?.ceiling).toBeCloseTo(120 / 125, 12);
    expect(rows[2]?.ratioKey).toBe('infer_vs_pytorch');
  });
  test.prop([fc.double({ min: 0.01, max: 100, noNaN: true }), fc.double({ min: 0.01, max: 100, noNaN: true }), fc.double({ min: 1, max: 1000, noNaN: true })])(
    'lamina ÷ PyTorch tokens/s is the ratio of their achieved GFLOP/s, and is lamina\'s utilisation × the ceiling',
    (sl, sp, rate) => {
      const [row] = ceilingRows([m('train', 'albert-base', 'lamina', [sl]), m('train', 'albert-base', 'pytorch', [sp])], fwd, rate);
      const [lam, pt] = row?.systems ?? [];
      const vsPt = sp / sl; // tokens/s ratio
      expect((lam?.achievedGflops.median ?? 0) / (pt?.achievedGflops.median ?? 1)).toBeCloseTo(vsPt, 6);
      expect(Math.abs((lam?.utilisation ?? 0) * (row?.ceiling ?? 0) - vsPt) / vsPt).toBeLessThan(1e-9);
    },
  );
  it('leaves out the masked systems, which do less work', () => {
    expect(LIKE_FOR_LIKE_SYSTEMS).not.toContain('lamina-masked');
    expect(LIKE_FOR_LIKE_SYSTEMS).toContain('pytorch');
  });
});

describe('reachability', () => {
  it('is unreachable below the ceiling, reachable at or above it, unknown without one', () => {
    expect(reachability(1.2, 1.5)).toBe('unreachable');
    expect(reachability(1.5, 1.5)).toBe('reachable');
    expect(reachability(null, 1.5)).toBe('unknown');
    expect(reachability(Number.NaN, 1.5)).toBe('unknown');
  });
});

describe('the report with a ceiling', () => {
  const r: Results = { ...base.right, ceiling: ceilingRows(measurements, fwd, 90) };
  const md = renderReport(r, { resultsFile: 'r.json', plotDir: '.' });
  it('says in the Summary which targets no like-for-like step can reach on this CPU', () => {
    expect(md).toContain('| ratio | value | target | status | reachable on this CPU? | meaning |');
    expect(md).toMatch(/\| `train_vs_pytorch` \| [^|]+ \| ≥ 1\.5 \| [^|]+(\([^)]*\))? \| yes: ceiling 1\.5 ≥ 1\.5 \|/);
    expect(md).toMatch(/\| `infer_vs_pytorch` \| [^|]+ \| ≥ 1\.2 \| [^|]+(\([^)]*\))? \| \*\*no\*\*: ceiling 0\.72 < 1\.2 \|/);
    expect(md).toMatch(/\| `graph_vs_eager_demo` \| [^\n]* \| — \| demo model/);
  });
  it('shows the per-system rates and the verdicts in section 4', () => {
    const s4 = md.slice(md.indexOf('## 4. Utilisation'), md.indexOf('## 5.'));
    expect(s4).toContain('### The ceiling of each like-for-like row');
    expect(s4).toContain('| training, albert-base 8 × 128 | 300 | lamina (graph) |');
    expect(s4).toContain('|  |  | Hugging Face PyTorch |');
    expect(s4).toContain('ceiling = 90 ÷ 125 = **0.72**: the target `infer_vs_pytorch` ≥ 1.2 is **not reachable** on this CPU');
    expect(s4).toContain('training, bert-base 8 × 128: no PyTorch rate, no ceiling.');
  });
  it('renders an older results file (no ceiling) with a dash in the new column', () => {
    const old = renderReport(base.right, { resultsFile: 'r.json', plotDir: '.' });
    expect(old).not.toContain('### The ceiling of each like-for-like row');
    expect(reachableCell(base.right, 'train_vs_pytorch', 1.5)).toBe('—');
  });
  it('keeps the ceiling through a JSON round trip of the results file', () => {
    const back = parseResults(JSON.parse(JSON.stringify(r)));
    expect(E.isRight(back) && back.right.ceiling).toEqual(r.ceiling);
  });
});
