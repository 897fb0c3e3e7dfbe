// The bench's graph-era parts: the targets table, the demo row with its TensorFlow-Python peer, the
// graph-versus-eager section, the bert-large memory table, the per-run CPU sentence and the
// hand-maintained "what we tried" file; the command line of the memory child; the peak-RSS reset;
// and the TensorFlow-Python worker's parameter-count check (skipped, visibly, when TensorFlow is
// not installed in the venv).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { albertForPretraining, tinyConfig } from '@lamina/albert';
import { countParams } from '@lamina/dsl';
import { parseResults, type Results } from '../src/results.js';
import { BENCH_TARGETS, CPU_FAMILY_NOTE, renderReport, targetStatus } from '../src/report.js';
import { parseArgs, TRIED_FILE } from '../src/run.js';
import { largeMemoryPlan } from '../src/memory.js';
import { ensureTensorflow, findPython, startTfWorker } from '../src/python.js';
import type { Measurement } from '../src/measure.js';
import { summarize, rates } from '../src/stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, 'fixtures');
const base = parseResults(JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')));
if (E.isLeft(base)) throw new Error(base.left);

const row = (system: Measurement['system'], seconds: number[], over: Partial<Measurement> = {}): Measurement => ({
  id: `train:demo:${system}`,
  model: 'demo',
  system,
  mode: 'train',
  batch: 32,
  seq: 64,
  optimizer: system === 'pytorch' ? 'adamw' : 'lamb',
  tokensPerStep: 2048,
  config: tinyConfig(),
  seconds,
  stepSeconds: summarize(seconds),
  tokensPerSecond: summarize(rates(seconds, 2048)),
  peakRssBytes: null,
  tfBytes: null,
  ...over,
});

const withGraph: Results = {
  ...base.right,
  environment: { ...base.right.environment, tensorflowPython: { skipped: 'tensorflow is not importable by /x/python' } },
  train: [
    row('lamina-masked', [0.2, 0.25, 0.2]),
    row('lamina-masked-eager', [0.5, 0.6, 0.5]),
    row('pytorch', [0.4, 0.4, 0.4]),
    row('tf-graph', [], { error: 'tensorflow is not importable by /x/python' }),
    row('tf-xla', [], { error: 'tensorflow is not importable by /x/python' }),
    ...base.right.train,
  ],
  graphSteps: [{ step: 'finetune', batch: [16, 128], eager: { min: 300, median: 400, max: 500, samples: [] }, graph: { min: 900, median: 1000, max: 1100, samples: [] }, ratio: 2.5, repeats: 3, steps: 2 }],
  largeMemory: {
    model: 'bert-large',
    batch: 8,
    seq: 128,
    steps: 1,
    rows: [
      { system: 'lamina graph', firstStepPeakBytes: 12 * 2 ** 30, stepPeakBytes: 9 * 2 ** 30, optimizer: 'lamb' },
      { system: 'lamina eager', firstStepPeakBytes: null, stepPeakBytes: null, optimizer: 'lamb', error: 'the child process ended with SIGKILL and wrote no figure (out of memory?)' },
      { system: 'Hugging Face PyTorch', firstStepPeakBytes: 7 * 2 ** 30, stepPeakBytes: 6 * 2 ** 30, optimizer: 'adamw' },
    ],
  },
  ratios: { ...base.right.ratios, graph_vs_eager_demo: 2.5, train_vs_pytorch_demo: 1.6, train_vs_tf_graph_demo: null },
};
const tried = '| date | change |\n| --- | --- |\n| 2026-12-01 | one graph per step |\n';
const md = renderReport(withGraph, { resultsFile: 'r.json', plotDir: '.', tried });

describe('the generated report of the graph-era bench', () => {
  it('lists every target of issue 12 with its value and whether it is met, pointing at the profile when missed', () => {
    for (const t of BENCH_TARGETS) expect(md).toMatch(new RegExp(`\\| \`${t.key}\` \\| [^|]+ \\| ≥ ${t.target} \\|`));
    expect(md).toContain('| `graph_vs_eager_demo` | 2.5 | ≥ 2.5 | **met** |');
    expect(md).toContain('| `train_vs_pytorch` | 0.78 | ≥ 1.5 | missed ([profile](#8-where-the-time-goes-per-op-profile)) |');
    expect(md).toContain('| `train_vs_tf_graph_demo` | — | ≥ 0.9 | not measured |');
  });

  it('says which CPU the run used and that ratios differ between CPU families', () => {
    expect(md).toContain('**CPU of this run: AMD EPYC.**');
    expect(md).toContain(CPU_FAMILY_NOTE);
    expect(CPU_FAMILY_NOTE).toMatch(/Intel Xeon.*AMD EPYC/);
  });

  it('shows the demo row with graph ÷ eager and vs PyTorch, and the TensorFlow columns as not measured', () => {
    expect(md).toMatch(/\| demo \| lamina real pretraining step, graph [^\n]*\| 2\.00× \| — \| not measured \| 2\.50× \|/);
    expect(md).toMatch(/\| demo \| TensorFlow 2\.21 Python, tf\.function \| 32 × 64 \| lamb \| not measured: tensorflow is not importable/);
    expect(md).toContain('| TensorFlow-Python | not measured — tensorflow is not importable by /x/python |');
  });

  it('renders the graph-versus-eager section from the results (demo row and general steps)', () => {
    expect(md).toContain('## 2b. Graph versus eager');
    expect(md).toMatch(/\| demo pretraining \(the demo row\) \| 32 × 64 \| [^|]+ \| [^|]+ \| \*\*2\.5\*\* \|/);
    expect(md).toContain('| finetune (3 repeats × 2 steps) | 16 × 128 | 300 / **400** / 500 | 900 / **1,000** / 1,100 | **2.5** |');
  });

  it('renders the bert-large memory rows, a dead child as not measured, and the ratio to PyTorch', () => {
    expect(md).toContain('| lamina graph | lamb | 12.00 GiB | 9.00 GiB | 1.50× | — |');
    expect(md).toContain('| lamina eager | lamb | not measured: the child process ended with SIGKILL');
    expect(md).toContain('| Hugging Face PyTorch | adamw | 7.00 GiB | 6.00 GiB | — | — |');
  });

  it('includes the hand-maintained "what we tried" table verbatim, before this run\'s rows', () => {
    const at = md.indexOf('| 2026-12-01 | one graph per step |');
    expect(at).toBeGreaterThan(md.indexOf('## What we tried and what it bought'));
    expect(at).toBeLessThan(md.indexOf('### Measured in this run'));
    expect(fs.readFileSync(TRIED_FILE, 'utf8')).toMatch(/^\| date \| change \| CPU, load/m);
  });

  it('renders an older results file (no TensorFlow-Python, no graph fields) without failing', () => {
    const old = renderReport(base.right, { resultsFile: 'r.json', plotDir: '.' });
    expect(old).toContain('| TensorFlow-Python | not measured (older results file) |');
    expect(old).toContain('| `train_vs_pytorch_demo` | — | ≥ 1.5 | not measured |');
  });

  test.prop([fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ min: 0, max: 10, noNaN: true })])('a target is met exactly when the value reaches it', (v, t) => {
    expect(targetStatus(v, t)).toBe(v >= t ? 'met' : 'missed');
  });
  it('a missing or non-finite value is not measured', () => {
    for (const v of [null, undefined, NaN, Infinity]) expect(targetStatus(v, 1)).toBe('not measured');
  });
});

describe('command line and memory plumbing', () => {
  it('parses --no-tensorflow and the memory child flags, rejecting bad values', () => {
    expect(parseArgs(['--quick', '--no-tensorflow'])).toEqual(E.right({ quick: true, python: true, report: undefined, tensorflow: false }));
    expect(parseArgs(['--memory-only', '/tmp/x.json', '--engine', 'eager'])).toEqual(E.right({ quick: false, python: true, report: undefined, memoryOnly: '/tmp/x.json', engine: 'eager' }));
    expect(parseArgs(['--memory-only'])).toEqual(E.left('--memory-only needs a file'));
    expect(parseArgs(['--engine', 'fast'])).toEqual(E.left('--engine must be graph or eager, got "fast"'));
    expect(E.isLeft(parseArgs(['--help'])) && (parseArgs(['--help']) as E.Left<string>).left).toMatch(/--no-tensorflow .*default/);
  });

  it('resets the peak RSS (Linux), so a later step is measured on its own', { timeout: 120_000 }, () => {
    // a child with --expose-gc: raise the peak by 256 MiB, free it, reset; the peak must drop
    const code = [
      'const { peakRssBytes, resetPeakRss } = await import(process.argv[1]);',
      'let big = Buffer.alloc(256 * 2 ** 20, 1);',
      'const raised = peakRssBytes();',
      'big = null; globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); globalThis.gc();',
      'const ok = resetPeakRss();',
      'console.log(JSON.stringify({ raised, ok, after: peakRssBytes() }));',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', code, path.join(here, '..', 'src', 'memory.ts')], { cwd: path.join(here, '..'), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { raised: number; ok: boolean; after: number };
    expect(out.ok).toBe(true);
    expect(out.after).toBeLessThan(out.raised - 128 * 2 ** 20);
  });

  it('plans bert-large for the full run and a tiny BERT for --smoke', () => {
    expect(largeMemoryPlan(false)).toMatchObject({ model: 'bert-large', batch: 8, seq: 128 });
    expect(largeMemoryPlan(false).config.hiddenSize).toBe(1024);
    expect(largeMemoryPlan(true).config.hiddenSize).toBeLessThan(100);
  });
});

const py = findPython();
const tfOk = E.isRight(py) && E.isRight(ensureTensorflow(py.right, { install: false }));
describe('the TensorFlow-Python worker', () => {
  it.skipIf(!tfOk)('builds the same parameter count as lamina for ALBERT and BERT, and refuses a model whose count differs', { timeout: 180_000 }, async () => {
    if (E.isLeft(py)) return;
    const w = await startTfWorker(py.right);
    expect(E.isRight(w)).toBe(true);
    if (E.isLeft(w)) return;
    try {
      const albert = tinyConfig();
      const bert = tinyConfig({ factorized: false, sharing: 'none', embeddingSize: 32, hiddenAct: 'gelu', hiddenDropoutProb: 0.1 });
      for (const [c, objective] of [[albert, 'sop'], [bert, 'nsp']] as const) {
        const n = countParams(albertForPretraining(c, { objective, mlmPositions: 'masked' }));
        if (E.isLeft(n)) throw new Error(n.left.message);
        const s = await w.right.request({ cmd: 'setup', id: objective, config: c, batch: 2, seq: 16, predictions: 3, mlm_positions: 'masked', optimizer: 'lamb', xla: false, lr: 1e-3, clip_norm: 1, seed: 1, expected_params: n.right });
        expect(s).toEqual(E.right({ ok: true, params: n.right }));
      }
      // one traced step (tracing is the slow part): it runs and gives a finite loss
      const t = await w.right.request({ cmd: 'time', id: 'sop', steps: 1, warmup: 0 });
      expect(E.isRight(t) && (t.right.seconds as number[]).length).toBe(1);
      expect(E.isRight(t) && Number.isFinite(t.right.loss as number)).toBe(true);
      const bad = await w.right.request({ cmd: 'setup', id: 'bad', config: albert, batch: 2, seq: 16, predictions: 3, expected_params: 1 });
      expect(bad).toEqual(E.left(expect.stringMatching(/^parameter count \d+ differs from lamina's 1$/)));
    } finally {
      w.right.close();
    }
  });
});
