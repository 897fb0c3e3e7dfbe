/**
 * A pretraining run: resolved config → run directory (config.json, checkpoints, metrics.jsonl,
 * TensorBoard events, curves.svg), with exact resume, periodic evaluation, SIGINT → checkpoint,
 * and a NaN guard.
 *
 * @example
 * ```ts
 * const cfg = E.getOrElseW((e: RunError) => { throw new Error(e.message); })(readRunConfig('runs/tiny')); // a run's config.json
 * const r = await runPretraining(cfg, 'runs/tiny', true, { progressMode: 'plain' }); // resume it
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { canonicalJson, countParams, formatModelError } from '@lamina/dsl';
import { albertForPretraining, decodeConfig, type AlbertConfig, type Batch, type BatchCursor } from '@lamina/albert';
import { CHECKPOINTS_DIR, loadLatestIntactCheckpoint, rawToTensors } from '../checkpoint.js';
import { checkOutDir, createRunDir } from './rundir.js';
import { openMetricsLogger, readMetrics, METRICS_FILE, type MetricsLogger } from '../metrics.js';
import { renderSvgPanels, seriesFromMetrics, writeSvgAtomic } from '../plot.js';
import { createProgress, type Progress, type ProgressMode } from '../progress.js';
import { lrAt } from '../schedule.js';
import { albertFeed, createPretrainer, parallelContext, type EvalSums, type Pretrainer, type StepEngine } from '../pretrainer.js';
import { runLoop, withInterrupts } from '../core/loop.js';
import { engineLine } from '../core/graph-step.js';
import { loopCollective } from '../distributed/worker.js';
import type { TrainState } from '../core/step.js';
import { BIAS_CORRECTION_DEFAULTS, type OptimizerKind } from '../optim/optimizer.js';
import { buildRunData, closeRunData, datasetCacheDir, evalBatches, trainBatches, type DataOptions } from './data.js';
import type { DataParallelGroup } from '../distributed/group.js';
import { globalTotals, shareOf } from '../distributed/shard.js';

/** Everything that defines a pretraining run (written to `config.json`). */
export interface RunConfig {
  readonly model: AlbertConfig;
  /** Where the model config came from (preset name or file). */
  readonly modelSource: string;
  readonly data: DataOptions;
  readonly steps: number;
  readonly batchSize: number;
  readonly gradAccum: number;
  readonly lr: number;
  readonly warmup: number;
  readonly optimizer: OptimizerKind;
  /** Bias-correct Adam's moments; absent (runs written before the option) means false, ALBERT's reference. */
  readonly biasCorrection?: boolean;
  readonly weightDecay: number;
  readonly clipNorm: number;
  readonly seed: number;
  readonly checkpointEvery: number;
  readonly evalEvery: number;
  readonly evalBatches: number;
  readonly keepLast: number;
}

/** How a run reports, and how its steps run (neither is part of the run's config). */
export interface RunIO {
  readonly progressMode: ProgressMode;
  /**
   * Called once every input has been checked and the run directory written, before the first
   * tensor is made (the CLI selects the backend here, so bad input never loads TensorFlow).
   */
  readonly beforeCompute?: () => Promise<void>;
  /** `graph` (default): one TensorFlow function per step on the native backend; `eager`: op by op. */
  readonly engine?: StepEngine;
  /** Compile the graph step with XLA. */
  readonly xla?: boolean;
  /** Plain mode: a line every this many steps. */
  readonly logEvery?: number;
  /**
   * Data-parallel training in a group of worker processes: each takes its share of every global
   * batch and gradients are averaged across the group; only task 0 writes (config, checkpoints,
   * metrics, TensorBoard, curves) and reports progress.
   */
  readonly group?: DataParallelGroup;
}

/** What a finished (or interrupted) run reports. */
export interface RunSummary {
  readonly runDir: string;
  readonly step: number;
  readonly interrupted: boolean;
  readonly initialEval: EvalResult | undefined;
  readonly finalEval: EvalResult | undefined;
  readonly lastCheckpoint: string | undefined;
  readonly seconds: number;
}

/** Held-out metrics. */
export interface EvalResult {
  readonly mlmAccuracy: number;
  readonly mlmLoss: number;
  readonly perplexity: number;
  readonly orderAccuracy: number | undefined;
}

/** A run that could not start or had to stop; `code` 2 for the user's input, 1 otherwise. */
export interface RunError {
  readonly message: string;
  readonly code: 1 | 2;
}
const runError = (message: string, code: 1 | 2 = 2): RunError => ({ message, code });

/** The file a run's resolved config is written to. */
export const RUN_CONFIG_FILE = 'config.json';
/** The curves plot of a run. */
export const CURVES_FILE = 'curves.svg';

/**
 * A stable hash of any run config: everything but the fields a resume may change (steps and the
 * checkpoint/eval cadence). Canonical JSON (sorted keys, undefined fields dropped), so the same
 * before and after a JSON round trip.
 * @example runConfigHash({ steps: 10, checkpointEvery: 5, evalEvery: 5, keepLast: 3, lr: 1e-3 })
 */
export const runConfigHash = <C extends { readonly steps: number; readonly checkpointEvery: number; readonly evalEvery: number; readonly keepLast: number }>(c: C): string => {
  const { steps: _s, checkpointEvery: _c, evalEvery: _e, keepLast: _k, ...fixed } = c;
  return crypto.createHash('sha256').update(canonicalJson(fixed)).digest('hex').slice(0, 16);
};

/** A stable hash of a pretraining run config (what must not change across a resume). */
export const configHash = (c: RunConfig): string => runConfigHash(c);

/** Reads a run directory's config.json (written by {@link runPretraining}). */
export const readRunConfig = (runDir: string): E.Either<RunError, RunConfig> => {
  const file = path.join(runDir, RUN_CONFIG_FILE);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return E.left(runError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`));
  }
  const j = json as { model?: unknown; kind?: unknown };
  if (j.kind !== 'lamina-pretraining-run') return E.left(runError(`${file} is not a lamina run config`));
  const model = decodeConfig(j.model);
  if (E.isLeft(model)) return E.left(runError(`${file}: model: ${model.left.message}`));
  const { kind: _kind, ...rest } = json as RunConfig & { kind: string };
  return E.right({ ...rest, model: model.right });
};

/** Float32 elements one tensor may hold (tfjs' typed arrays are indexed by 32-bit integers). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/**
 * Refuses a run whose parameters or activations could not exist: a tensor beyond
 * {@link MAX_TENSOR_ELEMENTS}, or an estimated training footprint (weights, gradients, two
 * optimizer moments, activations of one micro-batch) beyond the machine's memory. The message
 * names the limit.
 * @example checkRunLimits({ ...cfg, batchSize: 1e6 }) // left('a micro-batch of 1000000 × 128 … needs about 9.4 TB; the machine has 24 GB …')
 */
export const checkRunLimits = (cfg: RunConfig, totalBytes: number = os.totalmem()): E.Either<string, void> => {
  const m = cfg.model;
  const params = countParams(albertForPretraining(m, { objective: cfg.data.objective }));
  if (E.isLeft(params)) return E.left(formatModelError(params.left));
  const B = cfg.batchSize;
  const S = cfg.data.seqLength;
  const largest = Math.max(m.vocabSize * Math.max(m.embeddingSize, m.hiddenSize), m.embeddingSize * m.hiddenSize, m.hiddenSize * m.hiddenSize, m.hiddenSize * m.intermediateSize, B * m.numAttentionHeads * S * S, B * S * Math.max(m.intermediateSize, m.vocabSize));
  if (largest > MAX_TENSOR_ELEMENTS)
    return E.left(`one tensor of this run would hold ${largest.toExponential(2)} elements, beyond the limit of ${MAX_TENSOR_ELEMENTS} (2^31 - 1): lower --batch-size/--seq-len or the model's sizes`);
  const perLayer = B * S * (12 * m.hiddenSize + 3 * m.intermediateSize) + 3 * B * m.numAttentionHeads * S * S;
  const bytes = 4 * (4 * params.right + perLayer * m.numHiddenLayers + B * S * m.vocabSize * 2);
  if (bytes > totalBytes) {
    const gb = (x: number) => `${(x / 1e9).toFixed(x < 1e10 ? 1 : 0)} GB`;
    return E.left(`this run needs about ${gb(bytes)} (${params.right.toLocaleString('en-US')} parameters, micro-batch ${B} × ${S}), more than the machine's memory (${gb(totalBytes)}): lower --batch-size/--seq-len or the model's sizes`);
  }
  return E.right(undefined);
};

/** Aggregates evaluation sums. */
export const evalResult = (sums: readonly EvalSums[]): EvalResult => {
  const t = sums.reduce((a, s) => ({
    mlmLossSum: a.mlmLossSum + s.mlmLossSum,
    mlmCorrect: a.mlmCorrect + s.mlmCorrect,
    mlmCount: a.mlmCount + s.mlmCount,
    orderCorrect: a.orderCorrect + s.orderCorrect,
    orderCount: a.orderCount + s.orderCount,
  }));
  const mlmLoss = t.mlmLossSum / Math.max(1, t.mlmCount);
  return {
    mlmAccuracy: t.mlmCorrect / Math.max(1, t.mlmCount),
    mlmLoss,
    perplexity: Math.exp(mlmLoss),
    orderAccuracy: t.orderCount > 0 ? t.orderCorrect / t.orderCount : undefined,
  };
};

/** Evaluates a pretrainer on fixed held-out batches. */
export const evaluateOn = async (t: Pick<Pretrainer, 'evaluate'>, batches: readonly Batch[]): Promise<EvalResult> => {
  const sums: EvalSums[] = [];
  for (const b of batches) sums.push(await t.evaluate(b));
  return evalResult(sums);
};

const fmtEval = (e: EvalResult): string =>
  `MLM accuracy ${(100 * e.mlmAccuracy).toFixed(1)}%, perplexity ${e.perplexity.toFixed(1)}` +
  (e.orderAccuracy === undefined ? '' : `, order accuracy ${(100 * e.orderAccuracy).toFixed(1)}%`);

const evalValues = (e: EvalResult): Record<string, number> => ({
  'eval/mlm_accuracy': e.mlmAccuracy,
  'eval/mlm_loss': e.mlmLoss,
  'eval/perplexity': e.perplexity,
  ...(e.orderAccuracy === undefined ? {} : { 'eval/order_accuracy': e.orderAccuracy }),
});

/** Regenerates the run's curves plot from metrics.jsonl. */
export const writeCurves = (runDir: string): void => {
  const m = readMetrics(path.join(runDir, METRICS_FILE));
  if (E.isLeft(m)) return;
  const recs = m.right.records;
  const svg = renderSvgPanels(
    [
      { title: 'training loss', xLabel: 'step', yLabel: 'loss', series: [seriesFromMetrics(recs, 'loss'), seriesFromMetrics(recs, 'mlm_loss'), seriesFromMetrics(recs, 'order_loss')] },
      {
        title: 'held-out accuracy',
        xLabel: 'step',
        yLabel: 'accuracy',
        series: [seriesFromMetrics(recs, 'eval/mlm_accuracy', 'MLM'), seriesFromMetrics(recs, 'eval/order_accuracy', 'sentence order')],
      },
    ],
    { columns: 2 },
  );
  writeSvgAtomic(path.join(runDir, CURVES_FILE), svg);
};

/**
 * Runs (or, with `resume`, continues) pretraining. Writes `config.json`, checkpoints every
 * `checkpointEvery` steps and at the end (atomic), `metrics.jsonl`, TensorBoard events and
 * `curves.svg` (at every evaluation). SIGINT saves a checkpoint and returns (interrupted).
 * A non-finite loss stops the run with an error naming the step and the last good checkpoint.
 */
export const runPretraining = async (cfg: RunConfig, runDir: string, resume: boolean, io: RunIO): Promise<E.Either<RunError, RunSummary>> => {
  const t0 = Date.now();
  const group = io.group;
  // in a group only task 0 writes; the others read what it wrote (the same --out on a shared disk)
  const chief = group === undefined || group.taskIndex === 0;
  const cfgFile = path.join(runDir, RUN_CONFIG_FILE);
  // messages from before the progress reporter exists; warnings are shown even with --quiet
  const early: Array<{ warn: boolean; m: string }> = [];
  const progressLog = (m: string) => early.push({ warn: m.startsWith('warning:'), m });
  // only task 0 writes, so only task 0 checks --out for writing (the others read what it writes)
  const dirOk = chief ? checkOutDir(runDir, { kind: 'lamina-pretraining-run', resume }) : E.right(undefined);
  if (E.isLeft(dirOk)) return E.left(dirOk.left);
  const limits = checkRunLimits(cfg);
  if (E.isLeft(limits)) return E.left(runError(limits.left));
  // Everything is checked (corpus, tokenizer, held-out split) before anything is written, so a
  // failed start leaves no run directory behind. The dataset cache lives in the cache directory.
  const data = buildRunData(cfg.data, datasetCacheDir(), (m) => progressLog(m));
  if (E.isLeft(data)) return E.left(runError(data.left));
  if (data.right.tokenizer.vocabSize !== cfg.model.vocabSize) {
    closeRunData(data.right);
    return E.left(runError(`the model's vocabSize (${cfg.model.vocabSize}) differs from the tokenizer's (${data.right.tokenizer.vocabSize})`));
  }
  const found = resume ? await loadLatestIntactCheckpoint(runDir, (m) => progressLog(m)) : E.right(undefined);
  if (E.isLeft(found)) {
    closeRunData(data.right);
    return E.left(runError(`cannot resume: ${found.left.message}`, 1));
  }
  const existing = found.right;
  const runData = data.right;
  if (chief && resume) {
    // --steps may extend a run: record the new target so a later --resume continues to it
    const stored = readRunConfig(runDir);
    if (chief && E.isRight(stored) && stored.right.steps !== cfg.steps) {
      const w = await createRunDir(runDir, RUN_CONFIG_FILE, { kind: 'lamina-pretraining-run', ...stored.right, steps: cfg.steps });
      if (E.isLeft(w)) {
        closeRunData(runData);
        return E.left(w.left);
      }
    }
  }
  if (chief && !resume) {
    const made = await createRunDir(runDir, RUN_CONFIG_FILE, { kind: 'lamina-pretraining-run', ...cfg });
    if (E.isLeft(made)) {
      closeRunData(data.right);
      return E.left(made.left);
    }
  }
  try {
    await io.beforeCompute?.();
  } catch (e) {
    closeRunData(data.right);
    return E.left(runError(e instanceof Error ? e.message : String(e), 2));
  }
  const hash = configHash(cfg);

  const progress: Progress = chief
    ? createProgress({ total: cfg.steps, mode: io.progressMode, everySteps: io.logEvery ?? 20, ...(group ? { label: `${group.size} workers` } : {}) })
    : silentProgress;
  for (const { warn, m } of early.splice(0)) (warn ? progress.error(m) : progress.log(m));
  // SIGINT/SIGTERM: finish the current step, save a checkpoint, return.
  try {
    return await withInterrupts(progress, (interrupted) => pretrainLoop(interrupted));
  } finally {
    closeRunData(runData);
  }

  async function pretrainLoop(interrupted: () => boolean): Promise<E.Either<RunError, RunSummary>> {
    let startStep = 0;
    let cursor: BatchCursor | undefined;
    let initialParams;
    let optimizerState: Record<string, tf.Tensor> | undefined;
    if (resume && existing) {
      const ck = { right: existing };
      if (ck.right.state.configHash !== hash)
        return E.left(runError(`cannot resume: ${cfgFile} no longer matches the checkpoint (config hash ${hash} vs ${ck.right.state.configHash})`));
      startStep = ck.right.state.step;
      cursor = ck.right.state.dataCursor as unknown as BatchCursor;
      initialParams = ck.right.weights;
      optimizerState = rawToTensors(ck.right.optimizer);
      progress.log(`resuming from ${path.relative(process.cwd(), existing.dir) || existing.dir} (step ${startStep})`);
    }

    if (group) {
      // every worker must run the same resolved config from the same step (task 0 decides)
      const agreed = group.agree(canonicalJson({ config: cfg, startStep }));
      if (E.isLeft(agreed)) return E.left(runError(agreed.left.message, agreed.left.code));
      progress.log(`cluster: ${group.size} workers (${group.workers.join(', ')}); global batch ${cfg.batchSize}${cfg.gradAccum > 1 ? ` x ${cfg.gradAccum}` : ''}, shared by the workers`);
    }

    const trainer = createPretrainer({
      config: cfg.model,
      objective: cfg.data.objective,
      mlmPositions: 'masked',
      optimizer: cfg.optimizer,
      hyper: { weightDecay: cfg.weightDecay, biasCorrection: cfg.biasCorrection ?? BIAS_CORRECTION_DEFAULTS.pretrain },
      clipNorm: cfg.clipNorm,
      seed: cfg.seed,
      ...(initialParams ? { initialParams } : {}),
      engine: io.engine ?? 'graph',
      xla: io.xla ?? false,
      onNotice: (line) => progress.log(line),
    });
    if (E.isLeft(trainer)) return E.left(runError(trainer.left.message));
    const t = trainer.right;
    progress.log(engineLine(t.engine(), io.xla ?? false));
    if (optimizerState) {
      const r = t.optimizer.loadState(optimizerState, t.params);
      Object.values(optimizerState).forEach((x) => x.dispose());
      if (E.isLeft(r)) return E.left(runError(`cannot resume the optimizer: ${r.left.message}`, 1));
    }
    const batches = trainBatches(runData, cfg.data, cfg.batchSize, cursor);
    if (E.isLeft(batches)) return E.left(runError(batches.left));
    const heldOut = evalBatches(runData, cfg.data, cfg.batchSize, cfg.evalBatches);
    const logger = chief ? openMetricsLogger({ runDir, truncateAfterStep: startStep, note: (m) => progress.log(m) }) : E.right(silentLogger);
    if (E.isLeft(logger)) return E.left(runError(logger.left.message, 1));
    const log: MetricsLogger = logger.right;
    if (group && group.size > cfg.batchSize) return E.left(runError(`--batch-size ${cfg.batchSize} is smaller than the ${group.size} workers that share it`));

    let initialEval: EvalResult | undefined;
    let finalEval: EvalResult | undefined;
    const evaluate = async (step: number): Promise<EvalResult> => {
      const e = await evaluateOn(t, heldOut);
      log.log(step, evalValues(e));
      if (chief) writeCurves(runDir);
      progress.log(`eval @ step ${step}: ${fmtEval(e)}`);
      return e;
    };

    try {
      if (startStep === 0) initialEval = await evaluate(0);
      const schedule = { peak: cfg.lr, warmup: cfg.warmup, total: cfg.steps };
      const state: TrainState = { params: t.params, optimizer: t.optimizer };
      const order = cfg.data.objective !== 'none';
      const end = await runLoop({
        runDir,
        state,
        step: t.step,
        batches: {
          next: (stop) => {
            const micro = Array.from({ length: cfg.gradAccum }, () => batches.right.next().value);
            const feed = (b: Batch) => albertFeed(b, { mlmPositions: 'masked', order });
            if (!group) return micro.map(feed);
            // in a group: this worker's share of each global micro-batch; the stop flag travels with
            // the gradients, so a signal on any worker stops all of them after the same step
            return {
              micro: micro.map((b) => feed(shareOf(b, group.size, group.taskIndex))),
              parallel: parallelContext({ workers: group.size, totals: micro.map(globalTotals), allReduce: (v) => group.allReduce(v), extras: [stop ? 1 : 0] }),
              tokens: micro.reduce((a, b) => a + b.shapes.inputIds[0] * b.shapes.inputIds[1], 0),
            };
          },
          cursor: () => batches.right.state() as unknown as Record<string, number>,
        },
        startStep,
        totalSteps: cfg.steps,
        lr: (s) => lrAt(s, schedule),
        evalEvery: cfg.evalEvery,
        checkpointEvery: cfg.checkpointEvery,
        keepLast: cfg.keepLast,
        evaluate: async (s) => void (await evaluate(s)),
        checkpoint: { configHash: hash, seed: cfg.seed },
        log,
        progress,
        record: (v, lr) => ({ loss: v.loss as number, mlm_loss: v.mlm_loss as number, ...(order ? { order_loss: v.order_loss as number } : {}), grad_norm: v.grad_norm as number, lr }),
        interrupted,
        ...(existing ? { lastCheckpoint: existing.dir } : {}),
        ...(group ? { collective: loopCollective(group) } : {}),
      });
      if (E.isLeft(end)) {
        log.close();
        return E.left(runError(end.left.message, 1));
      }
      const { step, lastCheckpoint } = end.right;
      if (!end.right.interrupted) finalEval = await evaluate(step);
      log.close();
      const summary: RunSummary = {
        runDir,
        step,
        interrupted: end.right.interrupted,
        initialEval,
        finalEval,
        lastCheckpoint,
        seconds: (Date.now() - t0) / 1000,
      };
      progress.finish(
        end.right.interrupted
          ? `interrupted at step ${step}; checkpoint saved. Continue with --resume.`
          : `done: ${step} steps${finalEval ? `; ${fmtEval(finalEval)}` : ''}`,
        { step, runDir, checkpoint: lastCheckpoint ?? null },
      );
      return E.right(summary);
    } finally {
      t.dispose();
    }
  }
};

/** The reporter of a worker that is not task 0: it says nothing (task 0 speaks for the group). */
const silentProgress: Progress = { update: () => undefined, log: () => undefined, error: () => undefined, finish: () => undefined };

/** The metrics logger of a worker that is not task 0: it writes nothing. */
const silentLogger: MetricsLogger = { log: () => E.right(undefined), tensorboard: false, flush: () => undefined, close: () => undefined };

/** The checkpoints directory of a run. */
export const checkpointsDir = (runDir: string): string => path.join(runDir, CHECKPOINTS_DIR);

