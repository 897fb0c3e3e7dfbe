/**
 * A fine-tuning run and task evaluation.
 *
 * `runFinetune` starts a sequence-classification (or regression) model from a pretraining run
 * directory or a Hugging Face ALBERT directory, trains it on a JSONL/TSV file (or the bundled IMDB
 * task), evaluates before training, every `evalEvery` steps and at the end, and writes to `out/`:
 * ```
 * out/finetune.json          resolved config: task, label set, model config, data, hyper-parameters
 * out/tokenizer.json         the tokenizer the model was trained with (or spiece.model)
 * out/checkpoints/step-N/    the fine-tuned weights (complete checkpoint: weights + optimizer state)
 * out/metrics.jsonl          loss, lr, grad_norm per step; eval/* at each evaluation
 * out/tensorboard/           the same as TensorBoard events (native backend)
 * out/curves.svg             training loss and held-out metrics
 * out/eval.json              initial and final held-out metrics
 * ```
 * `evaluateTask(out, dataFile)` reloads such a directory and scores a data file with it.
 *
 * @example
 * ```ts
 * const r = await runFinetune(finetuneConfig({ checkpoint: 'runs/demo/pretrain', train: 'imdb', eval: 'imdb', out: 'runs/demo/imdb', maxTrain: 1000, maxEval: 500 }), { progressMode: 'plain' });
 * if (E.isRight(r)) console.log(r.right.initialMetrics, r.right.finalMetrics);
 * const e = await evaluateTask('runs/demo/imdb', 'imdb', { maxExamples: 500 });
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@lamina/dsl';
import { decodeConfig, type AlbertConfig, type Pooling, type Tokenizer } from '@lamina/albert';
import { loadLatestIntactCheckpoint, rawToTensors, type JsonValue } from '../checkpoint.js';
import { runLoop, withInterrupts } from '../core/loop.js';
import { openMetricsLogger, readMetrics, METRICS_FILE } from '../metrics.js';
import { BIAS_CORRECTION_DEFAULTS, OPTIMIZER_KINDS, type OptimizerKind } from '../optim/optimizer.js';
import { renderSvgPanels, seriesFromMetrics, writeSvgAtomic } from '../plot.js';
import { createProgress, type ProgressMode } from '../progress.js';
import { createRng, deriveSeed } from '../rng.js';
import { lrAt, validateSchedule } from '../schedule.js';
import { runTokenizer } from '../run/data.js';
import { loadModelDir } from '../run/load.js';
import { checkOutDir, fsErrorLine, stageDir, sweepStaged, type StagedDir } from '../run/rundir.js';
import { labelSetOf, readExamples, resolveExamples, TASK_KINDS, type TaskExamples, type TaskKind } from './data.js';
import { encodeExamples, sliceBatch, type EncodedExamples, type Truncation } from './encode.js';
import { classificationMetrics, formatTaskMetrics, metricValues, regressionMetrics, type TaskMetrics } from './metrics.js';
import { engineLine, type StepEngine } from '../core/graph-step.js';
import { createTaskTrainer, describeLoad, taskFeed, taskObjective, type LoadReport, type TaskTrainer } from './model.js';
import type { DataParallelGroup } from '../distributed/group.js';
import { dataParallelBatches, loopCollective, shardedResults, silentLogger, silentProgress } from '../distributed/worker.js';
import { canonicalJson } from '@lamina/dsl';

/**
 * Everything that defines a fine-tuning run (written, resolved, to `finetune.json`); build one with
 * {@link finetuneConfig}.
 * @example const cfg: FinetuneConfig = finetuneConfig({ checkpoint: 'runs/p', train: 'train.tsv', eval: 'dev.tsv', out: 'runs/ft', task: 'regress' });
 */
export interface FinetuneConfig {
  /** A lamina pretraining run directory or a Hugging Face ALBERT directory. */
  readonly checkpoint: string;
  /**
   * Take only the model config and tokenizer from `checkpoint` and initialise every weight fresh
   * (seeded by `seed`): the same classifier without pretraining, for comparison.
   */
  readonly fromScratch: boolean;
  readonly task: TaskKind;
  /** Training data: a JSONL/TSV file, or `imdb` (the bundled task's train split). */
  readonly train: string;
  /** Held-out data: a JSONL/TSV file, or `imdb` (the bundled task's dev split). */
  readonly eval: string;
  /** Output directory. */
  readonly out: string;
  readonly epochs: number;
  readonly batchSize: number;
  /** Batch size of evaluation (no gradients, so it can be larger). */
  readonly evalBatchSize: number;
  /** Peak learning rate. */
  readonly lr: number;
  /** Linear warm-up steps (undefined: 10% of the total), then linear decay to 0. */
  readonly warmup: number | undefined;
  /** Tokens per example, special tokens included (longest-first truncation). */
  readonly seqLength: number;
  /** Use only the first N training / held-out examples (0: all). */
  readonly maxTrain: number;
  readonly maxEval: number;
  readonly seed: number;
  readonly optimizer: OptimizerKind;
  /**
   * Bias-correct Adam's moments (`torch.optim.AdamW`, Hugging Face); false is ALBERT's reference
   * update. Absent in runs written before the option (they used false).
   */
  readonly biasCorrection: boolean;
  readonly weightDecay: number;
  readonly clipNorm: number;
  /** Dropout on hidden states and attention probabilities while fine-tuning. */
  readonly dropout: number;
  /**
   * What the classifier reads: `first`, the `[CLS]` position (ALBERT's and Hugging Face's head),
   * or `mean`, the masked mean over the tokens. Absent in runs written before the option (`first`).
   */
  readonly pooling: Pooling;
  /** How a single text longer than `seqLength` is cut (absent in older runs: `head`). */
  readonly truncation: Truncation;
  /** Evaluate every N steps (0: only before training and at the end). */
  readonly evalEvery: number;
  /** Checkpoint every N steps (0: only at the end); a killed run resumes from the newest one. */
  readonly checkpointEvery: number;
  /** Replace an existing fine-tuning run in `out`. */
  readonly overwrite: boolean;
  /** Step engine (default `graph`: one TensorFlow function per step; `eager`: op by op). Stored in finetune.json, so a resume keeps it. */
  readonly engine?: StepEngine;
  /** Compile the graph step with XLA (default false). */
  readonly xla?: boolean;
}

/**
 * Defaults for a small model on a CPU: AdamW at 1e-4 (small ALBERTs want more than BERT-base's
 * 2e-5), 3 epochs of batch 32, 10% warm-up then linear decay, weight decay 0.01, global-norm clip
 * 1.0, dropout 0.1, 128 tokens.
 * @example finetuneConfig({ checkpoint: 'ck', train: 'train.jsonl', eval: 'dev.jsonl', out: 'ft' }).lr // 1e-4
 */
export const FINETUNE_DEFAULTS = {
  task: 'classify',
  epochs: 3,
  batchSize: 32,
  evalBatchSize: 64,
  lr: 1e-4,
  warmup: undefined,
  seqLength: 128,
  maxTrain: 0,
  maxEval: 0,
  seed: 12345,
  optimizer: 'adamw',
  biasCorrection: BIAS_CORRECTION_DEFAULTS.finetune,
  weightDecay: 0.01,
  clipNorm: 1,
  dropout: 0.1,
  pooling: 'first',
  truncation: 'head',
  evalEvery: 100,
  checkpointEvery: 100,
  overwrite: false,
  fromScratch: false,
} as const satisfies Omit<FinetuneConfig, 'checkpoint' | 'train' | 'eval' | 'out'>;

/**
 * A config from the required fields plus any overrides of {@link FINETUNE_DEFAULTS}.
 * @example finetuneConfig({ checkpoint: 'runs/p', train: 'imdb', eval: 'imdb', out: 'runs/ft', maxTrain: 1000, epochs: 2 })
 */
export const finetuneConfig = (c: Pick<FinetuneConfig, 'checkpoint' | 'train' | 'eval' | 'out'> & Partial<FinetuneConfig>): FinetuneConfig => ({ ...FINETUNE_DEFAULTS, ...c });

/**
 * How a run reports.
 * @example runFinetune(cfg, { progressMode: 'quiet' })
 */
export interface FinetuneIO {
  readonly progressMode: ProgressMode;
  /** Plain mode: a line every this many steps (default: about 20 lines per run). */
  readonly logEvery?: number;
  /**
   * Called once the checkpoint and data have been read and checked, before the first tensor is
   * made (the CLI selects the backend here, so bad input fails fast without loading TensorFlow).
   */
  readonly beforeCompute?: () => Promise<void>;
  /**
   * Continue the run in `cfg.out` from its newest checkpoint (the config is the one stored in its
   * `finetune.json`; read it with {@link readFinetuneConfig}). The result is the same as a run
   * that was never interrupted.
   */
  readonly resume?: boolean;
  /** Data-parallel fine-tuning in a group of workers (each takes a share of every global batch; only task 0 writes). */
  readonly group?: DataParallelGroup;
}

/**
 * A run that could not start or had to stop; `code` 2 for the user's input, 1 otherwise.
 * @example { message: 'dev.jsonl:7: label "meh" is not one of the training labels ("neg", "pos")', code: 2 }
 */
export interface FinetuneError {
  readonly message: string;
  readonly code: 1 | 2;
}
const ftError = (message: string, code: 1 | 2 = 2): FinetuneError => ({ message, code });

/**
 * What a finished fine-tuning run reports.
 * @example if (E.isRight(r)) console.log(formatTaskMetrics(r.right.initialMetrics), '→', formatTaskMetrics(r.right.finalMetrics));
 */
export interface FinetuneSummary {
  readonly runDir: string;
  readonly task: TaskKind;
  /** Class names in index order (`[]` for regression). */
  readonly labels: readonly string[];
  readonly steps: number;
  readonly epochs: number;
  readonly trainExamples: number;
  readonly evalExamples: number;
  /** Held-out metrics before the first step (the freshly initialised head). */
  readonly initialMetrics: TaskMetrics;
  readonly finalMetrics: TaskMetrics;
  readonly load: LoadReport;
  /** The checkpoint directory holding the fine-tuned weights. */
  readonly checkpoint: string;
  readonly seconds: number;
  /**
   * True when SIGINT/SIGTERM stopped the run: its checkpoint is saved (continue it with
   * `resume`), `finalMetrics` are those of the last evaluation and no eval.json is written.
   */
  readonly interrupted?: boolean;
}

/**
 * The resolved config file of a fine-tuning run.
 * @example path.join(out, FINETUNE_CONFIG_FILE) // out/finetune.json
 */
export const FINETUNE_CONFIG_FILE = 'finetune.json';
/**
 * The final metrics file of a fine-tuning run (`{ initial, final, labels, step, … }`).
 * @example JSON.parse(fs.readFileSync(path.join(out, EVAL_FILE), 'utf8')).final.accuracy
 */
export const EVAL_FILE = 'eval.json';
/**
 * The curves plot of a fine-tuning run.
 * @example path.join(out, FINETUNE_CURVES_FILE) // out/curves.svg
 */
export const FINETUNE_CURVES_FILE = 'curves.svg';

/**
 * What `finetune.json` holds.
 * @example { kind: 'lamina-finetune-run', version: 1, task: 'classify', labels: ['negative', 'positive'], numLabels: 2, model: { … }, tokenizer: 'tokenizer.json', … }
 */
export interface StoredFinetune {
  readonly kind: 'lamina-finetune-run';
  readonly version: 1;
  readonly task: TaskKind;
  readonly labels: readonly string[];
  readonly numLabels: number;
  readonly model: AlbertConfig;
  /** File name of the tokenizer copied into the run directory, or null for the committed vocabulary. */
  readonly tokenizer: string | null;
  readonly source: { readonly checkpoint: string; readonly kind: string; readonly step: number | null };
  readonly config: FinetuneConfig & { readonly warmup: number };
  readonly steps: number;
  readonly trainData: { readonly name: string; readonly examples: number };
  readonly evalData: { readonly name: string; readonly examples: number };
}

const writeJson = async (file: string, v: unknown): Promise<E.Either<string, void>> =>
  E.mapLeft((e: { message: string }) => e.message)(await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`)));

/**
 * Reads a fine-tuning directory's `finetune.json`.
 * @example E.map((s: StoredFinetune) => s.labels)(readFinetuneConfig('runs/ft')) // right(['negative', 'positive'])
 */
export const readFinetuneConfig = (dir: string): E.Either<FinetuneError, StoredFinetune> => {
  const file = path.join(dir, FINETUNE_CONFIG_FILE);
  if (!fs.existsSync(dir)) return E.left(ftError(`no such directory: ${dir}`));
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return E.left(ftError(code === 'ENOENT' ? `${dir} is not a fine-tuned model (no ${FINETUNE_CONFIG_FILE}; run lamina finetune first)` : `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`));
  }
  const j = json as Partial<StoredFinetune>;
  if (j.kind !== 'lamina-finetune-run') return E.left(ftError(`${file} is not a lamina fine-tuning config`));
  if (!(TASK_KINDS as readonly unknown[]).includes(j.task) || !Array.isArray(j.labels) || typeof j.numLabels !== 'number') return E.left(ftError(`${file}: missing or malformed task, labels or numLabels`));
  const model = decodeConfig(j.model);
  if (E.isLeft(model)) return E.left(ftError(`${file}: model: ${model.left.message}`));
  return E.right({ ...(json as StoredFinetune), model: model.right });
};

const loadData = (
  cfg: Pick<FinetuneConfig, 'task' | 'train' | 'eval' | 'maxTrain' | 'maxEval'>,
): E.Either<string, { train: TaskExamples; eval: TaskExamples; labels: string[] }> => {
  const tr = readExamples(cfg.train, 'train', cfg.maxTrain);
  if (E.isLeft(tr)) return tr;
  const ev = readExamples(cfg.eval, 'dev', cfg.maxEval);
  if (E.isLeft(ev)) return ev;
  const labels = cfg.task === 'classify' ? labelSetOf(tr.right.raw) : [];
  if (cfg.task === 'classify' && labels.length < 2)
    return E.left(`${tr.right.name}: every training example has the label ${JSON.stringify(labels[0])}; classification needs at least two classes (use --task regress for numeric targets)`);
  const train = resolveExamples(tr.right.raw, cfg.task, labels, tr.right.name);
  if (E.isLeft(train)) return train;
  const held = resolveExamples(ev.right.raw, cfg.task, labels, ev.right.name);
  if (E.isLeft(held)) return held;
  return E.right({ train: train.right, eval: held.right, labels });
};

/**
 * Eval-mode metrics of a trainer on encoded examples (one host read per batch).
 * @example const m = await evaluateEncoded(trainer, encodeExamples(tok, dev, 128), 'classify', 2, 64);
 */
export const evaluateEncoded = async (t: TaskTrainer, enc: EncodedExamples, kind: TaskKind, numLabels: number, batchSize: number, group?: DataParallelGroup, step = 0): Promise<TaskMetrics> => {
  const logits = new Float32Array(enc.size * numLabels);
  let at = 0;
  // in a group each worker predicts its share of the batches; the logits are gathered exactly on every worker
  const count = Math.ceil(enc.size / batchSize);
  const rows = (i: number) => Math.min(batchSize, enc.size - i * batchSize);
  const batch = (i: number) => sliceBatch(enc, Int32Array.from({ length: rows(i) }, (_, j) => i * batchSize + j));
  const shards = await shardedResults(group, count, (i) => t.predict(batch(i)), Array.from({ length: count }, (_, i) => rows(i) * numLabels), step);
  for (const x of shards) {
    logits.set(x, at);
    at += x.length;
  }
  return kind === 'classify' ? classificationMetrics(logits, enc.targets, numLabels) : regressionMetrics(logits, enc.targets);
};

/**
 * Regenerates a fine-tuning run's curves from its metrics.jsonl.
 * @example writeFinetuneCurves('runs/ft', 'classify') // runs/ft/curves.svg
 */
export const writeFinetuneCurves = (runDir: string, kind: TaskKind): void => {
  const m = readMetrics(path.join(runDir, METRICS_FILE));
  if (E.isLeft(m)) return;
  const r = m.right.records;
  const svg = renderSvgPanels(
    [
      { title: 'loss', xLabel: 'step', yLabel: kind === 'classify' ? 'cross-entropy' : 'MSE', series: [seriesFromMetrics(r, 'loss', 'training'), seriesFromMetrics(r, 'eval/loss', 'held-out')] },
      kind === 'classify'
        ? { title: 'held-out metrics', xLabel: 'step', yLabel: 'score', series: [seriesFromMetrics(r, 'eval/accuracy', 'accuracy'), seriesFromMetrics(r, 'eval/macro_f1', 'macro-F1')] }
        : { title: 'held-out correlation', xLabel: 'step', yLabel: 'correlation', series: [seriesFromMetrics(r, 'eval/pearson', 'Pearson'), seriesFromMetrics(r, 'eval/spearman', 'Spearman')] },
    ],
    { columns: 2 },
  );
  writeSvgAtomic(path.join(runDir, FINETUNE_CURVES_FILE), svg);
};

const copyTokenizer = (tok: Tokenizer, out: string): string | null => {
  const src = tok.source;
  if (!src || src === '<memory>' || !fs.existsSync(src)) return null;
  const name = tok.format === 'spiece.model' ? 'spiece.model' : 'tokenizer.json';
  fs.copyFileSync(src, path.join(out, name));
  return name;
};

const checkConfig = (c: FinetuneConfig): string | undefined => {
  if (!(TASK_KINDS as readonly string[]).includes(c.task)) return `task must be one of ${TASK_KINDS.join(', ')}, got "${c.task}"`;
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(c.optimizer)) return `optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got "${c.optimizer}"`;
  const ints: Array<[string, number, number]> = [
    ['epochs', c.epochs, 1],
    ['batch size', c.batchSize, 1],
    ['eval batch size', c.evalBatchSize, 1],
    ['sequence length', c.seqLength, 3],
    ['max-train', c.maxTrain, 0],
    ['max-eval', c.maxEval, 0],
    ['eval-every', c.evalEvery, 0],
    ['checkpoint-every', c.checkpointEvery, 0],
  ];
  for (const [n, v, min] of ints) if (!(Number.isInteger(v) && v >= min)) return `${n} must be an integer >= ${min}, got ${v}`;
  if (!(c.lr >= 0 && Number.isFinite(c.lr))) return `learning rate must be a finite number >= 0, got ${c.lr}`;
  if (!(c.dropout >= 0 && c.dropout < 1)) return `dropout must be in [0, 1), got ${c.dropout}`;
  return undefined;
};

/**
 * Runs a fine-tuning job (see the module comment for what it writes). Bad input — a missing or
 * unreadable checkpoint, malformed data, an unknown held-out label, an existing run in `out`
 * without `overwrite` — is a Left with code 2 before any training; failures during training (a
 * non-finite loss, a write error) are code 1.
 * @example
 * ```ts
 * const r = await runFinetune(finetuneConfig({ checkpoint: 'runs/p', train: 'imdb', eval: 'imdb', out: 'runs/ft', maxTrain: 1000, maxEval: 500 }), { progressMode: 'plain' });
 * ```
 */
export const runFinetune = async (cfg: FinetuneConfig, io: FinetuneIO): Promise<E.Either<FinetuneError, FinetuneSummary>> => {
  const t0 = Date.now();
  const bad = checkConfig(cfg);
  if (bad) return E.left(ftError(bad));
  const outArg = cfg.out;
  const resume = io.resume === true;
  const group = io.group;
  // in a group only task 0 writes (and checks --out for writing); the others read what it wrote
  const chief = group === undefined || group.taskIndex === 0;
  if (group && group.size > cfg.batchSize) return E.left(ftError(`--batch-size ${cfg.batchSize} is smaller than the ${group.size} workers that share it`));
  // a run killed while replacing this directory left a staged copy (or, mid-swap, the old run aside); task 0 tidies it
  const swept: string[] = [];
  if (chief) sweepStaged(path.resolve(outArg), (line) => swept.push(line));
  if (resume && !fs.existsSync(path.join(outArg, FINETUNE_CONFIG_FILE))) return E.left(ftError(`nothing to resume: ${path.join(outArg, FINETUNE_CONFIG_FILE)} does not exist`));
  if (chief && !resume && !cfg.overwrite && fs.existsSync(path.join(outArg, FINETUNE_CONFIG_FILE)))
    return E.left(ftError(`${outArg} already holds a fine-tuning run; pass --resume to continue it, choose another --out or pass --overwrite`));
  if (chief && !resume) {
    const dirOk = checkOutDir(cfg.out, { kind: 'lamina-finetune-run', overwrite: cfg.overwrite });
    if (E.isLeft(dirOk)) return E.left(ftError(dirOk.left.message, dirOk.left.code));
  }
  const progress0 = chief ? createProgress({ total: 1, mode: io.progressMode }) : silentProgress;
  swept.forEach((line) => progress0.log(line));
  const loaded = await loadModelDir(cfg.checkpoint, { note: (msg) => progress0.error(msg) });
  if (E.isLeft(loaded)) return E.left(ftError(`--checkpoint: ${loaded.left}`));
  const m = loaded.right;
  if (cfg.seqLength > m.config.maxPositionEmbeddings)
    return E.left(ftError(`sequence length ${cfg.seqLength} exceeds the model's maxPositionEmbeddings (${m.config.maxPositionEmbeddings})`));
  const data = loadData(cfg);
  if (E.isLeft(data)) return E.left(ftError(data.left));
  const { labels } = data.right;
  const numLabels = cfg.task === 'classify' ? labels.length : 1;
  if (m.tokenizer.vocabSize > m.config.vocabSize)
    progress0.log(`warning: the tokenizer has ${m.tokenizer.vocabSize} pieces but the model only ${m.config.vocabSize}; ids beyond the model's vocabulary become <unk>`);

  const tEnc = Date.now();
  const train = encodeExamples(m.tokenizer, data.right.train, cfg.seqLength, m.config.vocabSize, cfg.truncation);
  const held = encodeExamples(m.tokenizer, data.right.eval, cfg.seqLength, m.config.vocabSize, cfg.truncation);
  const truncated = train.lengths.reduce((a, l) => a + (l === cfg.seqLength ? 1 : 0), 0);
  progress0.log(
    `data: ${train.size} training examples (${data.right.train.name}), ${held.size} held-out (${data.right.eval.name})` +
      (cfg.task === 'classify' ? `, ${numLabels} labels [${labels.slice(0, 8).join(', ')}${labels.length > 8 ? ', …' : ''}]` : ', regression') +
      `; tokenized in ${((Date.now() - tEnc) / 1000).toFixed(1)}s, ${Math.round((100 * truncated) / Math.max(1, train.size))}% truncated to ${cfg.seqLength} tokens`,
  );

  const stepsPerEpoch = Math.ceil(train.size / cfg.batchSize);
  const total = stepsPerEpoch * cfg.epochs;
  const warmup = cfg.warmup ?? Math.round(total / 10);
  const schedule = validateSchedule({ peak: cfg.lr, warmup, total });
  if (E.isLeft(schedule)) return E.left(ftError(`${schedule.left.message} (${total} steps = ${cfg.epochs} epochs × ${stepsPerEpoch} batches)`));
  const ck = resume ? await loadLatestIntactCheckpoint(cfg.out, (msg) => progress0.error(msg)) : E.right(undefined);
  if (E.isLeft(ck)) return E.left(ftError(`cannot resume: ${ck.left.message}`, 1));
  const resumed = ck.right;
  await io.beforeCompute?.();
  if (group) {
    // every worker must run the same resolved config from the same step (task 0 decides)
    const agreed = group.agree(canonicalJson({ config: cfg, startStep: resumed?.state.step ?? 0 }));
    if (E.isLeft(agreed)) return E.left(ftError(agreed.left.message, agreed.left.code));
    progress0.log(`cluster: ${group.size} workers (${group.workers.join(', ')}); global batch ${cfg.batchSize}, shared by the workers`);
  }
  const model: AlbertConfig = { ...m.config, hiddenDropoutProb: cfg.dropout, attentionProbsDropoutProb: cfg.dropout };
  const trainer = createTaskTrainer({
    config: model,
    kind: cfg.task,
    numLabels,
    optimizer: cfg.optimizer,
    hyper: { weightDecay: cfg.weightDecay, biasCorrection: cfg.biasCorrection },
    clipNorm: cfg.clipNorm,
    pooling: cfg.pooling,
    seed: cfg.seed,
    ...(resumed ? { initialParams: resumed.weights, exact: true } : cfg.fromScratch ? {} : { initialParams: m.params }),
    engine: cfg.engine ?? 'graph',
    xla: cfg.xla ?? false,
    onNotice: (line) => progress0.log(line),
  });
  if (E.isLeft(trainer)) return E.left(ftError(`--checkpoint ${cfg.checkpoint}: ${trainer.left}`));
  const t = trainer.right;
  // Replacing a run (--overwrite): everything is written into a staged sibling of --out and moved
  // into place only when the run has finished, so a NaN, a signal or a crash leaves the old run as
  // it was. A new run or a resumed one writes into --out itself, so its periodic checkpoints
  // survive kill -9 and --resume continues from them.
  const replacing = chief && !resume && cfg.overwrite && fs.existsSync(path.join(cfg.out, FINETUNE_CONFIG_FILE));
  let stage: StagedDir | undefined;
  try {
    if (replacing) stage = stageDir(cfg.out);
  } catch (e) {
    t.dispose();
    return E.left(ftError(fsErrorLine('cannot create', cfg.out, e)));
  }
  const out = stage ? stage.dir : cfg.out;
  let committed = false;
  try {
    progress0.log(engineLine(t.step.engine(), cfg.xla ?? false));
    progress0.log(cfg.fromScratch ? `from scratch: the model config and tokenizer of ${cfg.checkpoint}, all ${t.report.initialised.length} parameters initialised fresh (seed ${cfg.seed})` : describeLoad(t.report, cfg.checkpoint));
    try {
      if (chief) fs.mkdirSync(out, { recursive: true });
    } catch (e) {
      return E.left(ftError(`cannot create ${out}: ${e instanceof Error ? e.message : String(e)}`, 1));
    }
    if (resumed) {
      const opt = rawToTensors(resumed.optimizer);
      const r = t.optimizer.loadState(opt, t.params);
      Object.values(opt).forEach((x) => x.dispose());
      if (E.isLeft(r)) return E.left(ftError(`cannot resume the optimizer: ${r.left.message}`, 1));
      progress0.log(`resuming from ${path.relative(process.cwd(), resumed.dir) || resumed.dir} (step ${resumed.state.step})`);
    }
    if (chief && !resume) {
      const tokName = copyTokenizer(m.tokenizer, out);
      const stored: StoredFinetune = {
        kind: 'lamina-finetune-run',
        version: 1,
        task: cfg.task,
        labels,
        numLabels,
        model,
        tokenizer: tokName,
        source: { checkpoint: cfg.checkpoint, kind: m.kind, step: m.step ?? null },
        config: { ...cfg, warmup, engine: cfg.engine ?? 'graph', xla: cfg.xla ?? false },
        steps: total,
        trainData: { name: data.right.train.name, examples: train.size },
        evalData: { name: data.right.eval.name, examples: held.size },
      };
      const w = await writeJson(path.join(out, FINETUNE_CONFIG_FILE), stored);
      if (E.isLeft(w)) return E.left(ftError(w.left, 1));
    }
    const startStep = resumed?.state.step ?? 0;
    const logger = chief ? openMetricsLogger({ runDir: out, note: (msg) => progress0.log(msg), ...(resume ? { truncateAfterStep: startStep } : {}) }) : E.right(silentLogger);
    if (E.isLeft(logger)) return E.left(ftError(logger.left.message, 1));
    const log = logger.right;
    const progress = chief
      ? createProgress({ total, startStep, mode: io.progressMode, everySteps: io.logEvery ?? Math.max(1, Math.round(total / 20)), ...(group ? { label: `${group.size} workers` } : {}) })
      : silentProgress;

    let lastMetrics: TaskMetrics | undefined;
    const evaluate = async (step: number): Promise<TaskMetrics> => {
      const mt = await evaluateEncoded(t, held, cfg.task, numLabels, cfg.evalBatchSize, group, step);
      lastMetrics = mt;
      log.log(step, metricValues(mt));
      if (chief) writeFinetuneCurves(out, cfg.task);
      progress.log(`eval @ step ${step}: ${formatTaskMetrics(mt)}`);
      return mt;
    };

    const stored0 = (resumed?.state.trainer ?? undefined) as { initialMetrics?: TaskMetrics } | undefined;
    const initialMetrics = stored0?.initialMetrics ?? (await evaluate(0));
    // the data stream: epoch by epoch, each shuffled by (seed, epoch); the cursor is the next batch
    const cursor0 = (resumed?.state.dataCursor ?? { epoch: 0, index: 0 }) as { epoch: number; index: number };
    let epoch = cursor0.epoch;
    let index = cursor0.index;
    const orderOf = (e: number) => createRng(deriveSeed(cfg.seed, 'finetune-data', e)).shuffle(Array.from({ length: train.size }, (_, i) => i));
    let order = orderOf(epoch);
    const batches = {
      next: () => {
        if (index >= stepsPerEpoch) {
          epoch += 1;
          index = 0;
          order = orderOf(epoch);
        }
        const batch = sliceBatch(train, order.slice(index * cfg.batchSize, (index + 1) * cfg.batchSize));
        index += 1;
        return [taskFeed(batch, cfg.task)];
      },
      cursor: () => (index >= stepsPerEpoch ? { epoch: epoch + 1, index: 0 } : { epoch, index }),
    };
    const ran = await withInterrupts(progress, (interrupted) =>
      runLoop({
        runDir: out,
        state: { params: t.params, optimizer: t.optimizer },
        step: t.step,
        batches: group ? dataParallelBatches(group, taskObjective(cfg.task, numLabels), () => batches.next(), () => batches.cursor()) : batches,
        startStep,
        totalSteps: total,
        lr: (s) => lrAt(s, schedule.right),
        evalEvery: cfg.evalEvery,
        checkpointEvery: cfg.checkpointEvery,
        keepLast: 1,
        evaluate: async (s) => void (await evaluate(s)),
        checkpoint: { configHash: `finetune:${cfg.task}:${labels.join('|')}`, seed: cfg.seed, trainer: { kind: 'finetune', initialMetrics } as unknown as JsonValue },
        log,
        progress,
        record: (v, lr, s) => {
          const e = Math.floor((s - 1) / stepsPerEpoch);
          return { loss: v.loss as number, grad_norm: v.grad_norm as number, lr, epoch: e + (s - 1 - e * stepsPerEpoch + 1) / stepsPerEpoch };
        },
        interrupted,
        ...(resumed ? { lastCheckpoint: resumed.dir } : {}),
        ...(group ? { collective: loopCollective(group) } : {}),
      }),
    );
    if (E.isLeft(ran)) {
      log.close();
      return E.left(ftError(ran.left.kind === 'non-finite' ? `${ran.left.message.replace(/; last good checkpoint: .*$/, '')} of fine-tuning; lower --lr or check the data` : ran.left.message, 1));
    }
    const step = ran.right.step;
    if (ran.right.interrupted) {
      log.close();
      progress.finish(stage ? `interrupted at step ${step}; ${cfg.out} still holds the run it held (an --overwrite run is kept only when it finishes)` : `interrupted at step ${step}; checkpoint saved. Continue with lamina finetune --out ${out} --resume.`, { out: cfg.out, step });
      return E.right({
        runDir: out,
        task: cfg.task,
        labels,
        steps: step,
        epochs: cfg.epochs,
        trainExamples: train.size,
        evalExamples: held.size,
        initialMetrics,
        finalMetrics: lastMetrics ?? initialMetrics,
        load: t.report,
        checkpoint: ran.right.lastCheckpoint,
        seconds: (Date.now() - t0) / 1000,
        interrupted: true,
      });
    }
    const finalMetrics = await evaluate(step);
    log.close();
    const seconds = (Date.now() - t0) / 1000;
    const ev = !chief ? E.right(undefined) : await writeJson(path.join(out, EVAL_FILE), {
      task: cfg.task,
      labels,
      step,
      data: data.right.eval.name,
      examples: held.size,
      initial: initialMetrics,
      final: finalMetrics,
      checkpoint: path.relative(out, ran.right.lastCheckpoint),
      seconds,
    });
    if (E.isLeft(ev)) return E.left(ftError(ev.left, 1));
    const moved = stage ? stage.commit() : E.right(undefined);
    if (E.isLeft(moved)) return E.left(ftError(moved.left.message, 1));
    committed = true;
    const finalCheckpoint = path.join(cfg.out, path.relative(out, ran.right.lastCheckpoint));
    progress.finish(`fine-tuned ${step} steps (${cfg.epochs} epoch${cfg.epochs === 1 ? '' : 's'}); ${formatTaskMetrics(finalMetrics)}; was ${formatTaskMetrics(initialMetrics).replace(/ \(\d+ examples\)$/, '')}`, { out: cfg.out });
    return E.right({
      runDir: cfg.out,
      task: cfg.task,
      labels,
      steps: step,
      epochs: cfg.epochs,
      trainExamples: train.size,
      evalExamples: held.size,
      initialMetrics,
      finalMetrics,
      load: t.report,
      checkpoint: finalCheckpoint,
      seconds,
    });
  } finally {
    if (!committed) stage?.abort();
    t.dispose();
  }
};

/**
 * Options of {@link evaluateTask}.
 * @example evaluateTask('runs/ft', 'imdb', { maxExamples: 1000, batchSize: 128 })
 */
export interface EvaluateTaskOptions {
  /** Score only the first N examples (0 or undefined: all). */
  readonly maxExamples?: number;
  /** Examples per forward pass (default 64). */
  readonly batchSize?: number;
  /** Called after the inputs are checked, before the first tensor is made (see {@link FinetuneIO.beforeCompute}). */
  readonly beforeCompute?: () => Promise<void>;
  /** Told, in one line, when a damaged checkpoint was skipped for an older intact one. */
  readonly note?: (message: string) => void;
}

/**
 * What {@link evaluateTask} returns.
 * @example { metrics: { kind: 'classification', accuracy: 0.84, … }, task: 'classify', labels: ['negative', 'positive'], data: 'imdb:dev', checkpoint: 'runs/ft/checkpoints/step-000126', step: 126 }
 */
export interface TaskEvaluation {
  readonly metrics: TaskMetrics;
  readonly task: TaskKind;
  readonly labels: readonly string[];
  /** The data scored (a path, or `imdb:dev`). */
  readonly data: string;
  /** The checkpoint directory the weights came from. */
  readonly checkpoint: string;
  readonly step: number;
}

/**
 * Scores a data file with a fine-tuned model directory (the `out` of {@link runFinetune}).
 * `dataFile` is a JSONL/TSV file with the same columns as for training, or `imdb` (the bundled
 * task's dev split). Labels are resolved against the stored label set (an unknown label is an
 * error naming the line). Errors: code 2 for bad input (not a fine-tuning directory, bad data),
 * 1 for anything else.
 *
 * @example
 * ```ts
 * const r = await evaluateTask('runs/ft', 'dev.jsonl');
 * if (E.isRight(r)) console.log(formatTaskMetrics(r.right.metrics)); // 'accuracy 91.0%, macro-F1 …'
 * ```
 */
export const evaluateTask = async (checkpointDir: string, dataFile: string, opts: EvaluateTaskOptions = {}): Promise<E.Either<FinetuneError, TaskEvaluation>> => {
  const stored = readFinetuneConfig(checkpointDir);
  if (E.isLeft(stored)) return stored;
  const s = stored.right;
  const found = await loadLatestIntactCheckpoint(checkpointDir, opts.note);
  if (E.isLeft(found)) return E.left(ftError(found.left.message));
  if (found.right === undefined) return E.left(ftError(`${checkpointDir} has no complete checkpoint (did the fine-tuning run finish?)`));
  const ck = { right: found.right };
  const latest = { dir: found.right.dir, step: found.right.state.step };
  const tok = runTokenizer(s.tokenizer === null ? undefined : path.join(checkpointDir, s.tokenizer));
  if (E.isLeft(tok)) return E.left(ftError(tok.left));
  const raw = readExamples(dataFile, 'dev', opts.maxExamples ?? 0);
  if (E.isLeft(raw)) return E.left(ftError(raw.left));
  const ex = resolveExamples(raw.right.raw, s.task, s.labels, raw.right.name);
  if (E.isLeft(ex)) return E.left(ftError(ex.left));
  await opts.beforeCompute?.();
  // predictions on the run's engine (graph unless it was trained --eager)
  const trainer = createTaskTrainer({
    config: s.model,
    kind: s.task,
    numLabels: s.numLabels,
    pooling: s.config.pooling ?? 'first',
    optimizer: 'adamw',
    seed: 0,
    initialParams: ck.right.weights,
    exact: true,
    engine: s.config.engine ?? 'graph',
    ...(opts.note ? { onNotice: opts.note } : {}),
  });
  if (E.isLeft(trainer)) return E.left(ftError(`${latest.dir}: ${trainer.left}`, 1));
  try {
    const enc = encodeExamples(tok.right, ex.right, s.config.seqLength, s.model.vocabSize, s.config.truncation ?? 'head');
    const metrics = await evaluateEncoded(trainer.right, enc, s.task, s.numLabels, opts.batchSize ?? 64);
    return E.right({ metrics, task: s.task, labels: s.labels, data: raw.right.name, checkpoint: latest.dir, step: latest.step });
  } finally {
    trainer.right.dispose();
  }
};
