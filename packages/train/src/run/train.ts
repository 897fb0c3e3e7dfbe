/**
 * `lamina train`: any DSL model with any objective, on the one training loop. A run directory has
 * the layout of a pretraining run — `config.json` (kind `lamina-train-run`, with the model's
 * encoded value, so the run does not depend on the model file afterwards), `checkpoints/`,
 * `metrics.jsonl`, `tensorboard/`, `curves.svg` — plus the tokenizer it was trained with.
 *
 * Everything is read and checked before anything is written or any tensor exists: the tokenizer,
 * the data, the model value against the objective (inputs it needs, shapes of the outputs read).
 *
 * @example
 * ```ts
 * const cfg = trainRunConfig({ model: encodeModel(myModel), modelSource: 'my-model.ts', objective: 'clm', data: { corpus: 'notes.txt' }, steps: 200 });
 * const r = await runTraining(cfg, 'runs/mine', false, { progressMode: 'plain' });
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { compile, decodeModel, init, paramSpecs, sideInputs, writeFileAtomic, type CompiledModel, type Node, type RawTensor } from '@lamina/dsl';
import { INPUTS, splitCorpus, type Tokenizer } from '@lamina/albert';
import { latestCheckpoint, loadCheckpoint, rawToTensors } from '../checkpoint.js';
import { openMetricsLogger, readMetrics, METRICS_FILE } from '../metrics.js';
import { BIAS_CORRECTION_DEFAULTS, createOptimizer, type OptimizerKind } from '../optim/optimizer.js';
import { renderSvgPanels, seriesFromMetrics, writeSvgAtomic } from '../plot.js';
import { createProgress, type ProgressMode } from '../progress.js';
import { createRng, deriveSeed } from '../rng.js';
import { lrAt, validateSchedule } from '../schedule.js';
import { runLoop, withInterrupts } from '../core/loop.js';
import { addSums, type Feed, type TrainState } from '../core/step.js';
import { evalSumsEngine, type EvalSumsFn } from '../core/graph-eval.js';
import { engineLine, stepOfEngine, type StepEngine } from '../core/graph-step.js';
import {
  classifyObjective,
  clmObjective,
  mlmObjective,
  regressObjective,
  tokenClassifyObjective,
  type ObjectiveName,
  type TrainingObjective,
} from '../objectives/index.js';
import { fitObjective, type FeedShape } from '../objectives/fit.js';
import { labelSetOf, readExamples, readTaggedFile, resolveExamples } from '../finetune/data.js';
import { encodeTagged, taggedFeed, taggedLabelSet } from './token-data.js';
import { encodeExamples, sliceBatch } from '../finetune/encode.js';
import { taskFeed } from '../finetune/model.js';
import { albertFeed } from '../pretrainer.js';
import type { DataParallelGroup } from '../distributed/group.js';
import { dataParallelBatches, loopCollective, shardedResults, silentLogger, silentProgress } from '../distributed/worker.js';
import { canonicalJson } from '@lamina/dsl';
import { buildRunData, datasetCacheDir, evalBatches, runCorpus, runTokenizer, trainBatches } from './data.js';
import { lmFeed, lmWindows } from './lm-data.js';
import { RUN_CONFIG_FILE, runConfigHash } from './pretrain.js';

/** The `kind` of a `lamina train` run's config.json. */
export const TRAIN_RUN_KIND = 'lamina-train-run';

/**
 * Everything that defines a `lamina train` run (written to `config.json`).
 * @example trainRunConfig({ model: encodeModel(m), modelSource: 'm.ts', objective: 'clm', data: {} })
 */
export interface TrainRunConfig {
  /** The model's encoded value (`encodeModel`). */
  readonly model: unknown;
  /** Where it came from (a file or a preset name). */
  readonly modelSource: string;
  readonly objective: ObjectiveName;
  readonly data: {
    /** clm/mlm: a text file or directory (undefined: the bundled corpus). */
    readonly corpus: string | undefined;
    /** classify/regress: JSONL/TSV files or `imdb`. */
    readonly train: string | undefined;
    readonly eval: string | undefined;
    readonly tokenizer: string | undefined;
    readonly seqLength: number;
    readonly maxDocuments: number;
    readonly evalFraction: number;
    readonly maxTrain: number;
    readonly maxEval: number;
  };
  readonly steps: number;
  readonly batchSize: number;
  readonly gradAccum: number;
  readonly lr: number;
  readonly warmup: number;
  readonly optimizer: OptimizerKind;
  readonly weightDecay: number;
  readonly clipNorm: number;
  readonly seed: number;
  readonly checkpointEvery: number;
  readonly evalEvery: number;
  readonly evalBatches: number;
  readonly keepLast: number;
  /** Step engine (absent: `graph`, one TensorFlow function per step; `eager`: op by op). */
  readonly engine?: StepEngine;
  /** Compile the graph step with XLA (absent: false). */
  readonly xla?: boolean;
}

/**
 * Defaults of a `lamina train` run (the CLI states the same ones in its option spec).
 * @example TRAIN_DEFAULTS.lr // 1e-3
 */
export const TRAIN_DEFAULTS = {
  steps: 1000,
  batchSize: 16,
  gradAccum: 1,
  lr: 1e-3,
  optimizer: 'adamw',
  weightDecay: 0.01,
  clipNorm: 1,
  seed: 12345,
  checkpointEvery: 200,
  evalEvery: 100,
  evalBatches: 8,
  keepLast: 3,
  seqLength: 128,
  maxDocuments: 0,
  evalFraction: 0.05,
  maxTrain: 0,
  maxEval: 0,
} as const;

/**
 * A config from the required fields and overrides of {@link TRAIN_DEFAULTS} (warm-up: 10% of steps).
 * @example trainRunConfig({ model, modelSource: 'm.json', objective: 'clm', data: { corpus: 'a.txt' }, steps: 50 }).warmup // 5
 */
export const trainRunConfig = (
  c: Pick<TrainRunConfig, 'model' | 'modelSource' | 'objective'> & { data: Partial<TrainRunConfig['data']> } & Partial<Omit<TrainRunConfig, 'data'>>,
): TrainRunConfig => {
  const D = TRAIN_DEFAULTS;
  const steps = c.steps ?? D.steps;
  return {
    steps,
    batchSize: D.batchSize,
    gradAccum: D.gradAccum,
    lr: D.lr,
    warmup: Math.round(steps / 10),
    optimizer: D.optimizer,
    weightDecay: D.weightDecay,
    clipNorm: D.clipNorm,
    seed: D.seed,
    checkpointEvery: D.checkpointEvery,
    evalEvery: D.evalEvery,
    evalBatches: D.evalBatches,
    keepLast: D.keepLast,
    ...c,
    data: {
      corpus: undefined,
      train: undefined,
      eval: undefined,
      tokenizer: undefined,
      seqLength: D.seqLength,
      maxDocuments: D.maxDocuments,
      evalFraction: D.evalFraction,
      maxTrain: D.maxTrain,
      maxEval: D.maxEval,
      ...c.data,
    },
  };
};

/**
 * A run that could not start or had to stop; `code` 2 for the user's input, 1 otherwise.
 * @example { message: 'seq[3].dense: the clm objective's logits must have shape …', code: 2 }
 */
export interface TrainError {
  readonly message: string;
  readonly code: 1 | 2;
}
const trainError = (message: string, code: 1 | 2 = 2): TrainError => ({ message, code });

/**
 * What a finished or interrupted run reports.
 * @example { runDir: 'runs/m', step: 200, interrupted: false, initialEval: { loss: 9.2, … }, finalEval: { loss: 4.1, … } }
 */
export interface TrainSummary {
  readonly runDir: string;
  readonly step: number;
  readonly interrupted: boolean;
  readonly initialEval: Record<string, number> | undefined;
  readonly finalEval: Record<string, number> | undefined;
  readonly lastCheckpoint: string;
  readonly seconds: number;
}

/**
 * A stable hash of what must not change across a resume.
 * @example trainConfigHash(cfg) // '3f2a…'
 */
export const trainConfigHash = (c: TrainRunConfig): string => runConfigHash(c);

/**
 * Reads a `lamina train` run's config.json.
 * @example E.map((c: TrainRunConfig) => c.objective)(readTrainRunConfig('runs/m'))
 */
export const readTrainRunConfig = (runDir: string): E.Either<TrainError, TrainRunConfig> => {
  const file = path.join(runDir, RUN_CONFIG_FILE);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return E.left(trainError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`));
  }
  const { kind, labels: _labels, ...rest } = json as TrainRunConfig & { kind?: unknown; labels?: unknown };
  if (kind !== TRAIN_RUN_KIND) return E.left(trainError(`${file} is not a lamina train run config`));
  const m = decodeModel(rest.model);
  if (E.isLeft(m)) return E.left(trainError(`${file}: model: ${m.left.message}`));
  return E.right(rest);
};

/**
 * Whether a directory holds a `lamina train` run.
 * @example isTrainRun('runs/m') // true
 */
export const isTrainRun = (dir: string): boolean => {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, RUN_CONFIG_FILE), 'utf8')) as { kind?: unknown }).kind === TRAIN_RUN_KIND;
  } catch {
    return false;
  }
};

/** The side inputs each objective feeds (the main input is `input_ids`). */
const feedShape = (name: ObjectiveName, batch: number, seqLength: number, maskedPositions: number): FeedShape => {
  const i32 = { dtype: 'int32' } as const;
  switch (name) {
    case 'clm':
      return { batch, seqLength, inputs: { [INPUTS.mask]: i32 } };
    case 'mlm':
      return { batch, seqLength, inputs: { [INPUTS.mask]: i32, [INPUTS.tokenTypes]: i32, [INPUTS.maskedPositions]: { dtype: 'int32', length: maskedPositions } } };
    default:
      return { batch, seqLength, inputs: { [INPUTS.mask]: i32, [INPUTS.tokenTypes]: i32 } };
  }
};

/**
 * Prepared data: batch streams and held-out feeds, and what the model needs to know.
 * @example prepareTrainData(cfg, dir, model, log) // Either<string, Prepared>
 */
export interface Prepared {
  readonly tokenizer: Tokenizer;
  readonly numLabels: number;
  readonly labels: readonly string[];
  /** A stream starting at a cursor. */
  readonly stream: (cursor: { epoch: number; index: number } | undefined) => { next: () => Feed; cursor: () => { epoch: number; index: number } };
  readonly heldOut: readonly Feed[];
  readonly describe: string;
  readonly close: () => void;
}

/** An epoch-shuffled stream over `n` examples with a resumable cursor. */
const shuffled = (n: number, batchSize: number, seed: number, feed: (ix: number[]) => Feed) => (cursor: { epoch: number; index: number } | undefined) => {
  const perEpoch = Math.max(1, Math.floor(n / batchSize));
  let epoch = cursor?.epoch ?? 0;
  let index = cursor?.index ?? 0;
  const orderOf = (e: number) => createRng(deriveSeed(seed, 'train-data', e)).shuffle(Array.from({ length: n }, (_, i) => i));
  let order = orderOf(epoch);
  return {
    next: () => {
      if (index >= perEpoch) {
        epoch += 1;
        index = 0;
        order = orderOf(epoch);
      }
      const ix = order.slice(index * batchSize, (index + 1) * batchSize);
      index += 1;
      return feed(ix);
    },
    cursor: () => (index >= perEpoch ? { epoch: epoch + 1, index: 0 } : { epoch, index }),
  };
};

/**
 * Reads and checks a run's data (tokenizer, streams, held-out feeds); nothing is written.
 * @example const d = prepareTrainData(cfg, 'runs/m', model, console.error);
 */
export const prepareTrainData = (cfg: TrainRunConfig, _runDir: string, model: Node | undefined, log: (m: string) => void): E.Either<string, Prepared> => {
  const d = cfg.data;
  const tok = runTokenizer(d.tokenizer);
  if (E.isLeft(tok)) return tok;
  const B = cfg.batchSize;
  if (cfg.objective === 'clm') {
    if (d.train !== undefined || d.eval !== undefined) return E.left('--train/--eval are for the supervised objectives; clm reads --corpus');
    const corpus = runCorpus(d.corpus, d.maxDocuments);
    if (E.isLeft(corpus)) return corpus;
    const split = splitCorpus(corpus.right, { evalFraction: d.evalFraction, seed: cfg.seed });
    const train = lmWindows(split.train, tok.right, d.seqLength);
    const held = lmWindows(split.eval, tok.right, d.seqLength);
    if (train.count === 0) return E.left(`${corpus.right.name}: the training split has no tokens`);
    if (held.count === 0) return E.left(`${corpus.right.name}: the held-out split has no tokens: use a larger corpus or a larger --eval-fraction`);
    const nEval = Math.max(1, Math.min(cfg.evalBatches, Math.ceil(held.count / B)));
    const heldOut = Array.from({ length: nEval }, (_, i) => Array.from({ length: Math.min(B, held.count - i * B) }, (_, j) => i * B + j)).filter((ix) => ix.length > 0).map((ix) => lmFeed(held, ix));
    return E.right({
      tokenizer: tok.right,
      numLabels: 0,
      labels: [],
      stream: shuffled(train.count, Math.min(B, train.count), cfg.seed, (ix) => lmFeed(train, ix)),
      heldOut,
      describe: `${corpus.right.name}: ${train.tokens} training tokens in ${train.count} windows of ${d.seqLength}, ${held.tokens} held-out`,
      close: () => undefined,
    });
  }
  if (cfg.objective === 'mlm') {
    if (d.train !== undefined || d.eval !== undefined) return E.left('--train/--eval are for the supervised objectives; mlm reads --corpus');
    const maxPredictions = Math.max(1, Math.ceil(0.15 * d.seqLength));
    const opts = { corpus: d.corpus, tokenizer: d.tokenizer, maxDocuments: d.maxDocuments, seqLength: d.seqLength, maxPredictions, objective: 'none' as const, dupeFactor: 1, evalFraction: d.evalFraction, seed: cfg.seed };
    const data = buildRunData(opts, datasetCacheDir(), log);
    if (E.isLeft(data)) return data;
    // a model that gathers the masked positions itself gets [B·P] labels, else dense [B·S] ones
    const mlmPositions = model && sideInputs(model).has(INPUTS.maskedPositions) ? 'masked' : 'all';
    const held = evalBatches(data.right, opts, B, cfg.evalBatches).map((b) => albertFeed(b, { mlmPositions, order: false }));
    return E.right({
      tokenizer: tok.right,
      numLabels: 0,
      labels: [],
      stream: (cursor) => {
        const it = trainBatches(data.right, opts, B, cursor as never);
        if (E.isLeft(it)) throw new Error(it.left);
        return { next: () => albertFeed(it.right.next().value, { mlmPositions, order: false }), cursor: () => it.right.state() as never };
      },
      heldOut: held,
      describe: `${data.right.corpusName}: ${data.right.train.size} training sequences, ${data.right.eval.size} held-out`,
      close: () => {
        data.right.train.close();
        data.right.eval.close();
      },
    });
  }
  if (cfg.objective === 'token-classify') {
    if (d.corpus !== undefined) return E.left('--corpus is for clm/mlm; token-classify reads --train and --eval');
    if (d.train === undefined || d.eval === undefined) return E.left('the token-classify objective needs --train and --eval (JSONL files of {"tokens": [...], "labels": [...]})');
    const tr = readTaggedFile(d.train, d.maxTrain);
    if (E.isLeft(tr)) return tr;
    const ev = readTaggedFile(d.eval, d.maxEval);
    if (E.isLeft(ev)) return ev;
    const labels = taggedLabelSet(tr.right);
    if (labels.length < 2) return E.left(`${d.train}: token classification needs at least two labels`);
    const encT = encodeTagged(tok.right, tr.right, labels, d.seqLength, d.train);
    if (E.isLeft(encT)) return encT;
    const encE = encodeTagged(tok.right, ev.right, labels, d.seqLength, d.eval);
    if (E.isLeft(encE)) return encE;
    const nEval = Math.min(cfg.evalBatches, Math.ceil(encE.right.count / B));
    const heldOut = Array.from({ length: nEval }, (_, i) => Array.from({ length: Math.min(B, encE.right.count - i * B) }, (_, j) => i * B + j)).map((ix) => taggedFeed(encE.right, ix));
    return E.right({
      tokenizer: tok.right,
      numLabels: labels.length,
      labels,
      stream: shuffled(encT.right.count, Math.min(B, encT.right.count), cfg.seed, (ix) => taggedFeed(encT.right, ix)),
      heldOut,
      describe: `${encT.right.count} tagged training examples (${d.train}), ${encE.right.count} held-out (${d.eval}), labels [${labels.slice(0, 8).join(', ')}]`,
      close: () => undefined,
    });
  }
  if (d.corpus !== undefined) return E.left(`--corpus is for clm/mlm; ${cfg.objective} reads --train and --eval`);
  if (d.train === undefined || d.eval === undefined) return E.left(`the ${cfg.objective} objective needs --train and --eval (JSONL/TSV files, or imdb)`);
  const kind = cfg.objective === 'classify' ? 'classify' : 'regress';
  const tr = readExamples(d.train, 'train', d.maxTrain);
  if (E.isLeft(tr)) return tr;
  const ev = readExamples(d.eval, 'dev', d.maxEval);
  if (E.isLeft(ev)) return ev;
  const labels = kind === 'classify' ? labelSetOf(tr.right.raw) : [];
  if (kind === 'classify' && labels.length < 2) return E.left(`${tr.right.name}: classification needs at least two labels`);
  const train = resolveExamples(tr.right.raw, kind, labels, tr.right.name);
  if (E.isLeft(train)) return train;
  const held = resolveExamples(ev.right.raw, kind, labels, ev.right.name);
  if (E.isLeft(held)) return held;
  const encT = encodeExamples(tok.right, train.right, d.seqLength, tok.right.vocabSize);
  const encE = encodeExamples(tok.right, held.right, d.seqLength, tok.right.vocabSize);
  const nEval = Math.min(cfg.evalBatches, Math.ceil(encE.size / B));
  const heldOut = Array.from({ length: nEval }, (_, i) => Array.from({ length: Math.min(B, encE.size - i * B) }, (_, j) => i * B + j)).map((ix) => taskFeed(sliceBatch(encE, ix), kind));
  return E.right({
    tokenizer: tok.right,
    numLabels: kind === 'classify' ? labels.length : 1,
    labels,
    stream: shuffled(encT.size, Math.min(B, encT.size), cfg.seed, (ix) => taskFeed(sliceBatch(encT, ix), kind)),
    heldOut,
    describe: `${encT.size} training examples (${tr.right.name}), ${encE.size} held-out (${ev.right.name})${kind === 'classify' ? `, labels [${labels.slice(0, 8).join(', ')}]` : ''}`,
    close: () => undefined,
  });
};

/**
 * The objective value of a name (the numbers of labels come from the data).
 * @example objectiveOf('classify', 3).name // 'classify'
 */
export const objectiveOf = (name: ObjectiveName, numLabels: number): TrainingObjective => {
  switch (name) {
    case 'clm':
      return clmObjective();
    case 'mlm':
      return mlmObjective({ logits: null });
    case 'classify':
      return classifyObjective(numLabels);
    case 'regress':
      return regressObjective();
    case 'token-classify':
      return tokenClassifyObjective(numLabels);
  }
};

/**
 * A model checked against a run's objective, compiled (eval and train share one function).
 * @example const m = unwrap(prepareModel(node, cfg, { vocabSize: 100, numLabels: 0 }));
 */
export const prepareModel = (
  model: Node,
  cfg: Pick<TrainRunConfig, 'objective' | 'batchSize' | 'data'>,
  dims: { readonly vocabSize: number; readonly numLabels: number },
): E.Either<string, { forward: CompiledModel; objective: TrainingObjective }> => {
  const objective = objectiveOf(cfg.objective, dims.numLabels);
  const shape = feedShape(cfg.objective, cfg.batchSize, cfg.data.seqLength, Math.max(1, Math.ceil(0.15 * cfg.data.seqLength)));
  const fit = fitObjective(model, objective, shape, dims);
  if (E.isLeft(fit)) return fit;
  // the objective's feed carries every side input it can give; the model may read only some
  const f = compile(model, { input: INPUTS.ids, ignoreInputs: Object.keys(shape.inputs), ...(fit.right.outputs ? { outputs: fit.right.outputs } : {}) });
  if (E.isLeft(f)) return E.left(`${f.left.path}: ${f.left.message}`);
  return E.right({ forward: f.right, objective: fit.right.objective });
};

const fmt = (v: Readonly<Record<string, number>>): string =>
  Object.entries(v)
    .map(([k, x]) => (k.includes('accuracy') ? `${k.replace(/_/g, ' ')} ${(100 * x).toFixed(1)}%` : `${k.replace(/_/g, ' ')} ${x.toPrecision(4)}`))
    .join(', ');

/** Regenerates a train run's curves plot from metrics.jsonl. */
const writeTrainCurves = (runDir: string, evalKeys: readonly string[]): void => {
  const m = readMetrics(path.join(runDir, METRICS_FILE));
  if (E.isLeft(m)) return;
  const r = m.right.records;
  const svg = renderSvgPanels(
    [
      { title: 'loss', xLabel: 'step', yLabel: 'loss', series: [seriesFromMetrics(r, 'loss', 'training'), seriesFromMetrics(r, 'eval/loss', 'held-out')] },
      { title: 'held-out metrics', xLabel: 'step', yLabel: 'value', series: evalKeys.filter((k) => k !== 'loss' && k !== 'perplexity').map((k) => seriesFromMetrics(r, `eval/${k}`, k)) },
    ],
    { columns: 2 },
  );
  writeSvgAtomic(path.join(runDir, 'curves.svg'), svg);
};

/**
 * How a run reports, and the hook the CLI uses to select the backend once input is checked.
 * @example { progressMode: 'plain', beforeCompute: () => useBackend(flags) }
 */
export interface TrainIO {
  readonly progressMode: ProgressMode;
  readonly logEvery?: number;
  readonly beforeCompute?: () => Promise<void>;
  /** Data-parallel training in a group of workers (each takes a share of every global batch; only task 0 writes). */
  readonly group?: DataParallelGroup;
}

/**
 * Runs (or, with `resume`, continues) a `lamina train` run. Bad input is a Left with code 2
 * before anything is written; failures during the run are code 1. SIGINT/SIGTERM checkpoint and
 * return `interrupted`.
 * @example const r = await runTraining(cfg, 'runs/m', false, { progressMode: 'plain' });
 */
export const runTraining = async (cfg: TrainRunConfig, runDir: string, resume: boolean, io: TrainIO): Promise<E.Either<TrainError, TrainSummary>> => {
  const t0 = Date.now();
  const cfgFile = path.join(runDir, RUN_CONFIG_FILE);
  const existing = latestCheckpoint(runDir);
  const group = io.group;
  // in a group only task 0 writes; the others read what it wrote (the same --out)
  const chief = group === undefined || group.taskIndex === 0;
  if (group && group.size > cfg.batchSize) return E.left(trainError(`--batch-size ${cfg.batchSize} is smaller than the ${group.size} workers that share it`));
  if (chief && !resume && (existing || fs.existsSync(cfgFile))) return E.left(trainError(`${runDir} already holds a run; pass --resume to continue it or choose another --out`));
  if (resume && !fs.existsSync(cfgFile)) return E.left(trainError(`nothing to resume: ${cfgFile} does not exist`));
  const model = decodeModel(cfg.model);
  if (E.isLeft(model)) return E.left(trainError(`model: ${model.left.message}`));
  const progress = chief
    ? createProgress({ total: cfg.steps, mode: io.progressMode, everySteps: io.logEvery ?? Math.max(1, Math.round(cfg.steps / 20)), ...(group ? { label: `${group.size} workers` } : {}) })
    : silentProgress;
  const sched = validateSchedule({ peak: cfg.lr, warmup: cfg.warmup, total: cfg.steps });
  if (E.isLeft(sched)) return E.left(trainError(sched.left.message));
  const data = prepareTrainData(cfg, runDir, model.right, (m) => progress.log(m));
  if (E.isLeft(data)) return E.left(trainError(data.left));
  const D = data.right;
  try {
    const prepared = prepareModel(model.right, cfg, { vocabSize: D.tokenizer.vocabSize, numLabels: D.numLabels });
    if (E.isLeft(prepared)) return E.left(trainError(`${cfg.modelSource}: ${prepared.left}`));
    const { forward, objective } = prepared.right;
    const hash = trainConfigHash(cfg);
    const ck = resume && existing ? await loadCheckpoint(existing.dir) : undefined;
    if (ck && E.isLeft(ck)) return E.left(trainError(`cannot resume from ${existing?.dir}: ${ck.left.message}`, 1));
    const resumed = ck && E.isRight(ck) ? ck.right : undefined;
    if (resumed && resumed.state.configHash !== hash) return E.left(trainError(`cannot resume: ${cfgFile} no longer matches the checkpoint (config hash ${hash} vs ${resumed.state.configHash})`));
    progress.log(`data: ${D.describe}`);
    await io.beforeCompute?.();
    if (group) {
      // every worker must run the same resolved config from the same step (task 0 decides)
      const agreed = group.agree(canonicalJson({ config: cfg, startStep: resumed?.state.step ?? 0 }));
      if (E.isLeft(agreed)) return E.left(trainError(agreed.left.message, agreed.left.code));
      progress.log(`cluster: ${group.size} workers (${group.workers.join(', ')}); global batch ${cfg.batchSize}${cfg.gradAccum > 1 ? ` x ${cfg.gradAccum}` : ''}, shared by the workers`);
    }
    if (chief) fs.mkdirSync(runDir, { recursive: true });
    if (chief && !resume) {
      const w = await writeFileAtomic(cfgFile, new TextEncoder().encode(`${JSON.stringify({ kind: TRAIN_RUN_KIND, ...cfg, labels: D.labels }, null, 2)}\n`));
      if (E.isLeft(w)) return E.left(trainError(`cannot write ${cfgFile}: ${w.left.message}`, 1));
      const src = D.tokenizer.source;
      if (src && src !== '<memory>' && fs.existsSync(src) && fs.statSync(src).isFile()) fs.copyFileSync(src, path.join(runDir, path.basename(src)));
    }

    const store = init(model.right, cfg.seed);
    if (E.isLeft(store)) return E.left(trainError(`${cfg.modelSource}: ${store.left.path}: ${store.left.message}`));
    const params = store.right as Record<string, tf.Variable>;
    const optimizer = createOptimizer(cfg.optimizer, { weightDecay: cfg.weightDecay, biasCorrection: BIAS_CORRECTION_DEFAULTS.train });
    if (E.isLeft(optimizer)) return E.left(trainError(optimizer.left.message));
    const state: TrainState = { params, optimizer: optimizer.right };
    try {
      if (resumed) {
        for (const [k, v] of Object.entries(params)) {
          const raw = resumed.weights[k];
          if (!raw || raw.shape.join(',') !== v.shape.join(',')) return E.left(trainError(`${resumed.dir}: ${k} is missing or has another shape`, 1));
          v.assign(tf.tensor(raw.data, [...raw.shape], 'float32'));
        }
        const opt = rawToTensors(resumed.optimizer);
        const r = optimizer.right.loadState(opt, params);
        Object.values(opt).forEach((x) => x.dispose());
        if (E.isLeft(r)) return E.left(trainError(`cannot resume the optimizer: ${r.left.message}`, 1));
        progress.log(`resuming from ${path.relative(process.cwd(), resumed.dir) || resumed.dir} (step ${resumed.state.step})`);
      }
      const startStep = resumed?.state.step ?? 0;
      const logger = chief ? openMetricsLogger({ runDir, truncateAfterStep: startStep, note: (m) => progress.log(m) }) : E.right(silentLogger);
      if (E.isLeft(logger)) return E.left(trainError(logger.left.message, 1));
      const log = logger.right;
      let evalKeys: string[] = [];
      let evalSums: EvalSumsFn | undefined;
      const evaluate = async (step: number): Promise<Record<string, number>> => {
        // in a group each worker evaluates its share of the held-out batches; task 0 reports the gathered sums
        const shards = await shardedResults(group, D.heldOut.length, (i) => evalSums!(params, D.heldOut[i] as Feed), undefined, step);
        const r = objective.evalResult(addSums(shards.map((x) => Array.from(x))));
        if (!chief) return r;
        evalKeys = Object.keys(r);
        log.log(step, Object.fromEntries(Object.entries(r).map(([k, v]) => [`eval/${k}`, v])));
        writeTrainCurves(runDir, evalKeys);
        progress.log(`eval @ step ${step}: ${fmt(r)}`);
        return r;
      };
      const step = stepOfEngine(cfg.engine ?? 'graph', { forward, objective, clipNorm: cfg.clipNorm, seed: cfg.seed, xla: cfg.xla ?? false, onNotice: (line) => progress.log(line) });
      progress.log(engineLine(step.engine(), cfg.xla ?? false));
      // held-out eval on the run's engine (a run trained --eager evaluates eager)
      evalSums = evalSumsEngine(step.engine(), forward, objective, { xla: cfg.xla ?? false, onNotice: (line) => progress.log(line) });
      const stream = D.stream(resumed?.state.dataCursor as { epoch: number; index: number } | undefined);
      const initialEval = startStep === 0 ? await evaluate(0) : undefined;
      const end = await withInterrupts(progress, (interrupted) =>
        runLoop({
          runDir,
          state,
          step,
          batches: group
            ? dataParallelBatches(group, objective, () => Array.from({ length: cfg.gradAccum }, () => stream.next()), () => stream.cursor())
            : { next: () => Array.from({ length: cfg.gradAccum }, () => stream.next()), cursor: () => stream.cursor() },
          startStep,
          totalSteps: cfg.steps,
          lr: (s) => lrAt(s, sched.right),
          evalEvery: cfg.evalEvery,
          checkpointEvery: cfg.checkpointEvery,
          keepLast: cfg.keepLast,
          evaluate: async (s) => void (await evaluate(s)),
          checkpoint: { configHash: hash, seed: cfg.seed },
          log,
          progress,
          interrupted,
          ...(existing && resume ? { lastCheckpoint: existing.dir } : {}),
          ...(group ? { collective: loopCollective(group) } : {}),
        }),
      );
      if (E.isLeft(end)) {
        log.close();
        return E.left(trainError(end.left.message, 1));
      }
      const finalEval = end.right.interrupted ? undefined : await evaluate(end.right.step);
      log.close();
      progress.finish(
        end.right.interrupted ? `interrupted at step ${end.right.step}; checkpoint saved. Continue with --resume.` : `done: ${end.right.step} steps${finalEval ? `; ${fmt(finalEval)}` : ''}`,
        { step: end.right.step, runDir, checkpoint: end.right.lastCheckpoint },
      );
      return E.right({ runDir, step: end.right.step, interrupted: end.right.interrupted, initialEval, finalEval, lastCheckpoint: end.right.lastCheckpoint, seconds: (Date.now() - t0) / 1000 });
    } finally {
      Object.values(params).forEach((v) => v.dispose());
      optimizer.right.dispose();
    }
  } finally {
    D.close();
  }
};

/**
 * A trained `lamina train` run read back: its model value, config, parameters of the newest
 * checkpoint and tokenizer (used by generate, eval, forward).
 * @example const r = await loadTrainRun('runs/m'); if (E.isRight(r)) r.right.model;
 */
export const loadTrainRun = async (
  runDir: string,
): Promise<E.Either<TrainError, { config: TrainRunConfig; model: Node; params: Record<string, RawTensor>; step: number; tokenizer: Tokenizer; labels: readonly string[] }>> => {
  const cfg = readTrainRunConfig(runDir);
  if (E.isLeft(cfg)) return cfg;
  const model = decodeModel(cfg.right.model);
  if (E.isLeft(model)) return E.left(trainError(model.left.message));
  const latest = latestCheckpoint(runDir);
  if (!latest) return E.left(trainError(`${runDir} has no complete checkpoint yet`));
  const ck = await loadCheckpoint(latest.dir);
  if (E.isLeft(ck)) return E.left(trainError(`${latest.dir}: ${ck.left.message}`));
  const specs = paramSpecs(model.right);
  if (E.isLeft(specs)) return E.left(trainError(specs.left.message));
  for (const s of specs.right) if (!ck.right.weights[s.path]) return E.left(trainError(`${latest.dir}: the checkpoint has no ${s.path}`));
  // the run's own copy of its tokenizer, if it has one
  const own = cfg.right.data.tokenizer ? path.join(runDir, path.basename(cfg.right.data.tokenizer)) : undefined;
  const tok = runTokenizer(own && fs.existsSync(own) ? own : cfg.right.data.tokenizer);
  if (E.isLeft(tok)) return E.left(trainError(tok.left));
  const labels = (JSON.parse(fs.readFileSync(path.join(runDir, RUN_CONFIG_FILE), 'utf8')) as { labels?: string[] }).labels ?? [];
  return E.right({ config: cfg.right, model: model.right, params: ck.right.weights, step: ck.right.state.step, tokenizer: tok.right, labels });
};
