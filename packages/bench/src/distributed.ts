/**
 * `pnpm bench --distributed`: 1 process vs 2 local workers (`lamina pretrain --workers 2`, over
 * loopback) on the same global batch and model, both on the graph engine (the default: one
 * TensorFlow function per step, the workers' all-reduce a node inside it). Reports the median step
 * time, tokens/s of the whole cluster and the all-reduce's share of the step. A graph step's
 * all-reduce cannot be timed apart from the step, so the share is the median of task 0's
 * `allreduce_probe_seconds` (every 10th step all workers time one all-reduce of the gradient's size
 * alone, after the step) over the median `step_seconds`; the row says how many probes it rests on.
 * On a machine with fewer cores than workers × threads this measures the cost of communication,
 * not a speed-up: the workers share the same cores.
 *
 * @example
 * ```ts
 * const r = benchDistributed({ steps: 30, warmup: 5 });
 * if (E.isRight(r)) console.log(renderDistributed(r.right));
 * ```
 * @module
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { summarize } from './stats.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const LAMINA = path.join(REPO, 'packages', 'train', 'bin', 'lamina.js');

/** One configuration's measurements. */
export interface DistributedRow {
  readonly workers: number;
  /** Median wall time of a step (task 0), seconds. */
  readonly stepSeconds: number;
  /** Median of the all-reduce probes (`allreduce_probe_seconds`), seconds; null for one process or when no probe step was measured. */
  readonly allReduceSeconds: number | null;
  /** How many probes the median rests on. */
  readonly probes: number;
  /** Tokens of the global batch per second (whole cluster). */
  readonly tokensPerSecond: number;
  /** Steps measured (after the warm-up). */
  readonly samples: number;
}

/** The whole measurement, with what it ran on. */
export interface DistributedResult {
  readonly model: Readonly<Record<string, number>>;
  readonly globalBatch: number;
  readonly seqLength: number;
  readonly rows: readonly DistributedRow[];
  readonly cpu: string;
  readonly cores: number;
  readonly loadAverage: readonly number[];
}

/** Options of {@link benchDistributed}. */
export interface DistributedOptions {
  readonly steps: number;
  /** Steps left out at the start (compilation, caches). */
  readonly warmup: number;
  readonly globalBatch?: number;
  readonly seqLength?: number;
}

const MODEL = { embeddingSize: 64, hiddenSize: 128, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 512, maxPositionEmbeddings: 128 };

const rowOf = (runDir: string, workers: number, warmup: number, tokensPerStep: number): E.Either<string, DistributedRow> => {
  const recs = fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { step: number; values?: Record<string, number> } & Record<string, unknown>)
    .map((r) => ({ step: r.step, v: (r.values ?? r) as Record<string, number> }))
    .filter((r) => typeof r.v.step_seconds === 'number' && r.step > warmup);
  if (recs.length === 0) return E.left(`${runDir}: no timed steps after the warm-up`);
  const step = summarize(recs.map((r) => r.v.step_seconds as number)).median;
  const probes = recs.flatMap((r) => (typeof r.v.allreduce_probe_seconds === 'number' ? [r.v.allreduce_probe_seconds] : []));
  const comm = probes.length ? summarize(probes).median : null;
  return E.right({ workers, stepSeconds: step, allReduceSeconds: comm, probes: probes.length, tokensPerSecond: tokensPerStep / step, samples: recs.length });
};

/** Runs the tiny pretraining with 1 process and with 2 local workers, same global batch. */
export const benchDistributed = (o: DistributedOptions): E.Either<string, DistributedResult> => {
  const B = o.globalBatch ?? 16;
  const S = o.seqLength ?? 64;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-bench-dist-'));
  try {
    const modelFile = path.join(dir, 'model.json');
    fs.writeFileSync(modelFile, JSON.stringify(MODEL));
    const common = ['pretrain', '--model', modelFile, '--max-documents', '200', '--steps', String(o.steps), '--batch-size', String(B), '--seq-len', String(S),
      '--eval-every', '0', '--eval-batches', '1', '--checkpoint-every', '0', '--quiet'];
    const rows: DistributedRow[] = [];
    for (const workers of [1, 2]) {
      const out = path.join(dir, `w${workers}`);
      const r = spawnSync(process.execPath, [LAMINA, ...common, '--out', out, ...(workers > 1 ? ['--workers', String(workers)] : [])], { encoding: 'utf8', cwd: REPO });
      if (r.status !== 0) return E.left(`lamina pretrain with ${workers} worker(s) failed: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`);
      const row = rowOf(out, workers, o.warmup, B * S);
      if (E.isLeft(row)) return row;
      rows.push(row.right);
    }
    return E.right({ model: MODEL, globalBatch: B, seqLength: S, rows, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, loadAverage: os.loadavg() });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

/** The result as a Markdown section. */
export const renderDistributed = (r: DistributedResult): string =>
  [
    '## Data-parallel workers (1 process vs 2 local workers, same global batch)',
    '',
    `ALBERT E=${r.model.embeddingSize}, H=${r.model.hiddenSize}, ${r.model.numHiddenLayers} layers, global batch ${r.globalBatch} × ${r.seqLength}, graph step (all-reduce inside the function), LAMB; ` +
      `${r.cpu}, ${r.cores} cores, load average ${r.loadAverage.map((x) => x.toFixed(2)).join(' ')}.`,
    '',
    '| workers | step (median) | all-reduce probe (median) | all-reduce share | tokens/s (cluster) |',
    '|---|---|---|---|---|',
    ...r.rows.map((x) =>
      x.allReduceSeconds === null
        ? `| ${x.workers} | ${(1000 * x.stepSeconds).toFixed(0)} ms | ${x.workers > 1 ? 'no probe step measured' : '—'} | — | ${x.tokensPerSecond.toFixed(0)} |`
        : `| ${x.workers} | ${(1000 * x.stepSeconds).toFixed(0)} ms | ${(1000 * x.allReduceSeconds).toFixed(0)} ms (${x.probes} probe${x.probes === 1 ? '' : 's'}) | ${((100 * x.allReduceSeconds) / x.stepSeconds).toFixed(0)}% | ${x.tokensPerSecond.toFixed(0)} |`,
    ),
    '',
    `With ${r.cores} cores the workers share the same cores, so this shows what communication (and waiting for the slower worker) costs, not a speed-up. ` +
      'A graph step\'s all-reduce runs inside its TensorFlow function and cannot be timed apart: the probe is one all-reduce of the gradient\'s size run alone every 10th step ' +
      '(waiting for the other worker included), and the share is the probe over the whole step.',
    '',
  ].join('\n');
