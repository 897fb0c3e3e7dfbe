/**
 * `lamina finetune` (sequence classification / regression from a pretrained checkpoint) and
 * `lamina eval-task` (score a data file with a fine-tuned model).
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { POOLINGS, type Pooling } from '@lamina/albert';
import { OPTIMIZER_KINDS, type OptimizerKind } from '../optim/optimizer.js';
import { TASK_KINDS, type TaskKind } from '../finetune/data.js';
import { TRUNCATIONS, type Truncation } from '../finetune/encode.js';
import { formatTaskMetrics } from '../finetune/metrics.js';
import { evaluateTask, FINETUNE_DEFAULTS, finetuneConfig, readFinetuneConfig, runFinetune, type FinetuneConfig } from '../finetune/run.js';
import { type Command, type OptionSpec, CliError, EXIT, intOption, LIMITS, numberOption, numOr, optNum, optStr, quoteInput, str, usageError } from './command.js';
import { OUTPUT_OPTIONS, progressModeOf, useBackend } from './pretrain.js';
import { CLUSTER_OPTIONS, clusterRun } from './cluster-args.js';
import { biasCorrectionFlag, biasCorrectionOption } from './optim-args.js';

const D = FINETUNE_DEFAULTS;

/**
 * Builds a fine-tuning config from `lamina finetune` flags (bad values are usage errors).
 * @example finetuneConfigFromFlags({ checkpoint: 'p', train: 't.jsonl', eval: 'e.jsonl', out: 'o', lr: '3e-4' }).lr // 3e-4
 */
export const finetuneConfigFromFlags = (v: Record<string, unknown>): FinetuneConfig => {
  const O = FINETUNE_OPTIONS;
  const task = optStr(v, 'task') ?? D.task;
  if (!(TASK_KINDS as readonly string[]).includes(task)) throw usageError(`--task must be one of ${TASK_KINDS.join(', ')}, got ${quoteInput(task)}`);
  const pooling = optStr(v, 'pooling') ?? D.pooling;
  if (!(POOLINGS as readonly string[]).includes(pooling)) throw usageError(`--pooling must be one of ${POOLINGS.join(', ')}, got ${quoteInput(pooling)}`);
  const truncation = optStr(v, 'truncation') ?? D.truncation;
  if (!(TRUNCATIONS as readonly string[]).includes(truncation)) throw usageError(`--truncation must be one of ${TRUNCATIONS.join(', ')}, got ${quoteInput(truncation)}`);
  const optimizer = optStr(v, 'optimizer') ?? D.optimizer;
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(optimizer)) throw usageError(`--optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got ${quoteInput(optimizer)}`);
  return finetuneConfig({
    checkpoint: str(v, 'checkpoint', 'finetune'),
    train: str(v, 'train', 'finetune'),
    eval: str(v, 'eval', 'finetune'),
    out: str(v, 'out', 'finetune'),
    task: task as TaskKind,
    optimizer: optimizer as OptimizerKind,
    biasCorrection: biasCorrectionFlag(v, D.biasCorrection),
    epochs: numOr(O, v, 'epochs'),
    batchSize: numOr(O, v, 'batch-size'),
    evalBatchSize: numOr(O, v, 'eval-batch-size'),
    lr: numOr(O, v, 'lr'),
    warmup: optNum(O, v, 'warmup'),
    seqLength: numOr(O, v, 'seq-len'),
    maxTrain: numOr(O, v, 'max-train'),
    maxEval: numOr(O, v, 'max-eval'),
    seed: numOr(O, v, 'seed'),
    weightDecay: numOr(O, v, 'weight-decay'),
    clipNorm: numOr(O, v, 'clip-norm'),
    dropout: numOr(O, v, 'dropout'),
    pooling: pooling as Pooling,
    truncation: truncation as Truncation,
    evalEvery: numOr(O, v, 'eval-every'),
    checkpointEvery: numOr(O, v, 'checkpoint-every'),
    overwrite: v.overwrite === true,
    fromScratch: v['from-scratch'] === true,
  });
};

/**
 * The `lamina finetune` flags that give back `cfg` (the inverse of {@link finetuneConfigFromFlags}):
 * how a parent process runs a fine-tuning job in a child (the demo trains its from-scratch
 * classifier beside the pretrained one).
 * @example finetuneFlags(finetuneConfig({ checkpoint: 'p', train: 'imdb', eval: 'imdb', out: 'o' })) // ['--checkpoint', 'p', …]
 */
export const finetuneFlags = (cfg: FinetuneConfig): string[] => {
  const pairs: [string, string | number | undefined][] = [
    ['checkpoint', cfg.checkpoint],
    ['train', cfg.train],
    ['eval', cfg.eval],
    ['out', cfg.out],
    ['task', cfg.task],
    ['epochs', cfg.epochs],
    ['batch-size', cfg.batchSize],
    ['eval-batch-size', cfg.evalBatchSize],
    ['lr', cfg.lr],
    ['warmup', cfg.warmup],
    ['seq-len', cfg.seqLength],
    ['max-train', cfg.maxTrain],
    ['max-eval', cfg.maxEval],
    ['seed', cfg.seed],
    ['optimizer', cfg.optimizer],
    ['bias-correction', cfg.biasCorrection ? 'on' : 'off'],
    ['weight-decay', cfg.weightDecay],
    ['clip-norm', cfg.clipNorm],
    ['dropout', cfg.dropout],
    ['pooling', cfg.pooling],
    ['truncation', cfg.truncation],
    ['eval-every', cfg.evalEvery],
    ['checkpoint-every', cfg.checkpointEvery],
  ];
  return [
    ...pairs.flatMap(([k, x]) => (x === undefined ? [] : [`--${k}`, String(x)])),
    ...(cfg.fromScratch ? ['--from-scratch'] : []),
    ...(cfg.overwrite ? ['--overwrite'] : []),
    ...(cfg.engine === 'eager' ? ['--eager'] : []),
    ...(cfg.xla === true ? ['--xla'] : []),
  ];
};

/**
 * The options of `lamina finetune` (numeric bounds and defaults stated here once).
 * @example helpText({ ...finetune, options: FINETUNE_OPTIONS })
 */
export const FINETUNE_OPTIONS = {
  checkpoint: { type: 'string', arg: 'dir', help: 'a lamina pretraining run directory or a Hugging Face ALBERT directory' },
  task: { type: 'string', arg: TASK_KINDS.join('|'), help: 'classify (cross-entropy over the training labels) or regress (one number, MSE)', default: D.task },
  train: { type: 'string', arg: 'file|imdb', help: 'training data: JSONL/TSV with text, optional text_pair, label; or imdb (bundled)' },
  eval: { type: 'string', arg: 'file|imdb', help: 'held-out data, same format (imdb: the bundled dev split)' },
  out: { type: 'string', arg: 'dir', help: 'output directory (weights, finetune.json, metrics, curves, eval.json)' },
  epochs: intOption('passes over the training data', { min: 1, max: LIMITS.epochs, default: D.epochs }),
  'batch-size': intOption('examples per step', { min: 1, max: LIMITS.batchSize, default: D.batchSize, arg: 'B' }),
  'eval-batch-size': intOption('examples per forward pass when evaluating', { min: 1, max: LIMITS.batchSize, default: D.evalBatchSize, arg: 'B' }),
  lr: numberOption('peak learning rate', { min: 0, max: LIMITS.lr, default: D.lr }),
  warmup: intOption('linear warm-up steps (default 10% of all steps), then linear decay to 0', { min: 0, max: LIMITS.steps }),
  'seq-len': intOption('tokens per example incl. [CLS]/[SEP] (longest-first truncation)', { min: 3, max: LIMITS.seqLength, default: D.seqLength, arg: 'S' }),
  'max-train': intOption('use only the first N training examples (0: all)', { min: 0, max: LIMITS.examples, default: D.maxTrain }),
  'max-eval': intOption('use only the first N held-out examples (0: all)', { min: 0, max: LIMITS.examples, default: D.maxEval }),
  optimizer: { type: 'string', arg: 'adamw|lamb', help: 'optimizer', default: D.optimizer },
  'bias-correction': biasCorrectionOption(D.biasCorrection),
  'weight-decay': numberOption('decoupled weight decay (LayerNorm and biases excluded)', { min: 0, max: LIMITS.weightDecay, default: D.weightDecay }),
  'clip-norm': numberOption('global-norm gradient clip (0: off)', { min: 0, max: LIMITS.clipNorm, default: D.clipNorm }),
  dropout: numberOption('dropout on hidden states and attention while fine-tuning', { min: 0, max: 0.9, default: D.dropout, arg: 'p' }),
  truncation: { type: 'string', arg: TRUNCATIONS.join('|'), help: 'how a text longer than --seq-len is cut: keep its head, or its first quarter and last three quarters (reviews end with their verdict); pairs are cut longest-first', default: D.truncation },
  pooling: { type: 'string', arg: POOLINGS.join('|'), help: "what the classifier reads: first, the [CLS] position (Hugging Face's head), or mean, the masked mean over the tokens", default: D.pooling },
  seed: intOption('seed of the new head, data order and dropout', { min: 0, max: LIMITS.seed, default: D.seed }),
  'eval-every': intOption('evaluate every N steps (0: only before and after training)', { min: 0, max: LIMITS.steps, default: D.evalEvery }),
  'checkpoint-every': intOption('checkpoint every N steps (0: only at the end); SIGINT/SIGTERM also checkpoint', { min: 0, max: LIMITS.steps, default: D.checkpointEvery }),
  'from-scratch': { type: 'boolean', help: 'take only the model config and tokenizer from --checkpoint and initialise every weight fresh (the baseline without pretraining)' },
  overwrite: { type: 'boolean', help: 'replace a fine-tuning run already in --out (the old one stays until the new one has finished)' },
  resume: { type: 'boolean', help: 'continue the run in --out from its newest checkpoint (its finetune.json gives the config)' },
  ...CLUSTER_OPTIONS,
  eager: { type: 'boolean', help: 'run each step and evaluation op by op instead of as one TensorFlow function (the engine is stored with the run)' },
  xla: { type: 'boolean', help: 'compile the graph step with XLA (opt-in for every objective: measured on AMD EPYC, 10-110 s of compile per input shape, slower than the graph step even on an idle machine (0.95x pretraining, 0.71x fine-tuning), and other dropout masks than the eager step; packages/bench/TRIED.md)' },
  ...OUTPUT_OPTIONS,
} as const satisfies Record<string, OptionSpec>;

/**
 * `lamina finetune`: fine-tunes a checkpoint on a classification or regression data set.
 * @example await main(['finetune', '--checkpoint', 'runs/p', '--train', 'imdb', '--eval', 'imdb', '--out', 'runs/ft', '--max-train', '1000'])
 */
export const finetune: Command = {
  name: 'finetune',
  summary: 'fine-tune a pretrained model on a classification or regression task',
  usage: 'lamina finetune --checkpoint <dir> --train <file|imdb> --eval <file|imdb> --out <dir> [--task classify|regress] [options] | lamina finetune --out <dir> --resume',
  options: FINETUNE_OPTIONS,
  examples: [
    'lamina finetune --checkpoint runs/demo/pretrain --train imdb --eval imdb --out runs/imdb --max-train 2000 --max-eval 500',
    'lamina finetune --checkpoint runs/demo/pretrain --train imdb --eval imdb --out runs/imdb --batch-size 32 --workers 2',
    'lamina finetune --checkpoint albert-base-v2/ --task regress --train stsb-train.tsv --eval stsb-dev.tsv --out runs/stsb --lr 2e-5',
  ],
  async run(v) {
    const resume = v.resume === true;
    const how = clusterRun(v, 'finetune', FINETUNE_OPTIONS);
    let cfg: FinetuneConfig;
    if (resume) {
      const out = str(v, 'out', 'finetune');
      const stored = readFinetuneConfig(out);
      if (E.isLeft(stored)) throw new CliError(stored.left.message, stored.left.code);
      cfg = { ...FINETUNE_DEFAULTS, ...stored.right.config, out };
    } else cfg = { ...finetuneConfigFromFlags(v), engine: v.eager === true ? 'eager' : 'graph', xla: v.xla === true };
    // the flags are checked once, before any worker is launched; a group member joins the
    // collective runtime (backend first, before any tensor exists)
    if (how.kind === 'launch') return how.launch();
    if (how.kind === 'member') await useBackend(v);
    const group = how.kind === 'member' ? how.join() : undefined;
    const r = await runFinetune(cfg, { progressMode: progressModeOf(v), resume, ...(group ? { group } : { beforeCompute: () => useBackend(v) }) });
    // an interrupted run saved its checkpoint (and said so): that is a success too (exit 0)
    if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
    return EXIT.ok;
  },
};

/**
 * `lamina eval-task`: scores a labelled data file with the output directory of `lamina finetune`.
 * @example await main(['eval-task', '--checkpoint', 'runs/ft', '--data', 'dev.jsonl', '--json'])
 */
export const evalTask: Command = {
  name: 'eval-task',
  summary: 'score a labelled data file with a fine-tuned model (accuracy/F1 or Pearson/Spearman)',
  usage: 'lamina eval-task --checkpoint <finetune-out> --data <file|imdb> [--json]',
  options: {
    checkpoint: { type: 'string', arg: 'dir', help: 'the --out directory of lamina finetune' },
    data: { type: 'string', arg: 'file|imdb', help: 'JSONL/TSV with text, optional text_pair, label; or imdb (bundled dev split)' },
    'max-examples': intOption('score only the first N examples (0: all)', { min: 0, max: LIMITS.examples, default: 0 }),
    'batch-size': intOption('examples per forward pass', { min: 1, max: LIMITS.batchSize, default: 64, arg: 'B' }),
    json: { type: 'boolean', help: 'print the metrics as one JSON object' },
    backend: OUTPUT_OPTIONS.backend,
  },
  examples: ['lamina eval-task --checkpoint runs/imdb --data imdb --max-examples 1000', 'lamina eval-task --checkpoint runs/stsb --data stsb-test.tsv --json'],
  async run(v) {
    const dir = str(v, 'checkpoint', 'eval-task');
    const data = str(v, 'data', 'eval-task');
    const maxExamples = numOr(evalTask.options, v, 'max-examples');
    const batchSize = numOr(evalTask.options, v, 'batch-size');
    const r = await evaluateTask(dir, data, { maxExamples, batchSize, beforeCompute: () => useBackend(v), note: (m) => console.error(`lamina eval-task: ${m}`) });
    if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
    const e = r.right;
    if (v.json === true) console.log(JSON.stringify({ ...e.metrics, task: e.task, labels: e.labels, data: e.data, checkpoint: e.checkpoint, step: e.step }));
    else console.log(`${e.data}: ${formatTaskMetrics(e.metrics)}`);
    return EXIT.ok;
  },
};
