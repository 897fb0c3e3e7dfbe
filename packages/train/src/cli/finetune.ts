/**
 * `lamina finetune` (sequence classification / regression from a pretrained checkpoint) and
 * `lamina eval-task` (score a data file with a fine-tuned model).
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { OPTIMIZER_KINDS, type OptimizerKind } from '../optim/optimizer.js';
import { TASK_KINDS, type TaskKind } from '../finetune/data.js';
import { formatTaskMetrics } from '../finetune/metrics.js';
import { evaluateTask, FINETUNE_DEFAULTS, finetuneConfig, runFinetune, type FinetuneConfig } from '../finetune/run.js';
import { type Command, CliError, EXIT, num, optStr, str, usageError } from './command.js';
import { OUTPUT_OPTIONS, progressModeOf, useBackend } from './pretrain.js';
import { biasCorrectionFlag, biasCorrectionOption } from './optim-args.js';

const D = FINETUNE_DEFAULTS;

/**
 * Builds a fine-tuning config from `lamina finetune` flags (bad values are usage errors).
 * @example finetuneConfigFromFlags({ checkpoint: 'p', train: 't.jsonl', eval: 'e.jsonl', out: 'o', lr: '3e-4' }).lr // 3e-4
 */
export const finetuneConfigFromFlags = (v: Record<string, unknown>): FinetuneConfig => {
  const task = optStr(v, 'task') ?? D.task;
  if (!(TASK_KINDS as readonly string[]).includes(task)) throw usageError(`--task must be one of ${TASK_KINDS.join(', ')}, got "${task}"`);
  const optimizer = optStr(v, 'optimizer') ?? D.optimizer;
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(optimizer)) throw usageError(`--optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got "${optimizer}"`);
  const warmup = optStr(v, 'warmup');
  return finetuneConfig({
    checkpoint: str(v, 'checkpoint', 'finetune'),
    train: str(v, 'train', 'finetune'),
    eval: str(v, 'eval', 'finetune'),
    out: str(v, 'out', 'finetune'),
    task: task as TaskKind,
    optimizer: optimizer as OptimizerKind,
    biasCorrection: biasCorrectionFlag(v, D.biasCorrection),
    epochs: num(v, 'epochs', D.epochs, { min: 1, integer: true }),
    batchSize: num(v, 'batch-size', D.batchSize, { min: 1, integer: true }),
    evalBatchSize: num(v, 'eval-batch-size', D.evalBatchSize, { min: 1, integer: true }),
    lr: num(v, 'lr', D.lr, { min: 0 }),
    warmup: warmup === undefined ? undefined : num(v, 'warmup', 0, { min: 0, integer: true }),
    seqLength: num(v, 'seq-len', D.seqLength, { min: 3, integer: true }),
    maxTrain: num(v, 'max-train', D.maxTrain, { min: 0, integer: true }),
    maxEval: num(v, 'max-eval', D.maxEval, { min: 0, integer: true }),
    seed: num(v, 'seed', D.seed, { min: 0, integer: true }),
    weightDecay: num(v, 'weight-decay', D.weightDecay, { min: 0 }),
    clipNorm: num(v, 'clip-norm', D.clipNorm, { min: 0 }),
    dropout: num(v, 'dropout', D.dropout, { min: 0, max: 0.9 }),
    evalEvery: num(v, 'eval-every', D.evalEvery, { min: 0, integer: true }),
    overwrite: v.overwrite === true,
  });
};

/**
 * The options of `lamina finetune`.
 * @example helpText({ ...finetune, options: FINETUNE_OPTIONS })
 */
export const FINETUNE_OPTIONS = {
  checkpoint: { type: 'string', arg: 'dir', help: 'a lamina pretraining run directory or a Hugging Face ALBERT directory' },
  task: { type: 'string', arg: TASK_KINDS.join('|'), help: 'classify (cross-entropy over the training labels) or regress (one number, MSE)', default: D.task },
  train: { type: 'string', arg: 'file|imdb', help: 'training data: JSONL/TSV with text, optional text_pair, label; or imdb (bundled)' },
  eval: { type: 'string', arg: 'file|imdb', help: 'held-out data, same format (imdb: the bundled dev split)' },
  out: { type: 'string', arg: 'dir', help: 'output directory (weights, finetune.json, metrics, curves, eval.json)' },
  epochs: { type: 'string', arg: 'N', help: 'passes over the training data', default: String(D.epochs) },
  'batch-size': { type: 'string', arg: 'B', help: 'examples per step', default: String(D.batchSize) },
  'eval-batch-size': { type: 'string', arg: 'B', help: 'examples per forward pass when evaluating', default: String(D.evalBatchSize) },
  lr: { type: 'string', arg: 'x', help: 'peak learning rate', default: String(D.lr) },
  warmup: { type: 'string', arg: 'N', help: 'linear warm-up steps (default 10% of all steps), then linear decay to 0' },
  'seq-len': { type: 'string', arg: 'S', help: 'tokens per example incl. [CLS]/[SEP] (longest-first truncation)', default: String(D.seqLength) },
  'max-train': { type: 'string', arg: 'N', help: 'use only the first N training examples (0: all)', default: '0' },
  'max-eval': { type: 'string', arg: 'N', help: 'use only the first N held-out examples (0: all)', default: '0' },
  optimizer: { type: 'string', arg: 'adamw|lamb', help: 'optimizer', default: D.optimizer },
  'bias-correction': biasCorrectionOption(D.biasCorrection),
  'weight-decay': { type: 'string', arg: 'x', help: 'decoupled weight decay (LayerNorm and biases excluded)', default: String(D.weightDecay) },
  'clip-norm': { type: 'string', arg: 'x', help: 'global-norm gradient clip (0: off)', default: String(D.clipNorm) },
  dropout: { type: 'string', arg: 'p', help: 'dropout on hidden states and attention while fine-tuning', default: String(D.dropout) },
  seed: { type: 'string', arg: 'N', help: 'seed of the new head, data order and dropout', default: String(D.seed) },
  'eval-every': { type: 'string', arg: 'N', help: 'evaluate every N steps (0: only before and after training)', default: String(D.evalEvery) },
  overwrite: { type: 'boolean', help: 'replace a fine-tuning run already in --out' },
  ...OUTPUT_OPTIONS,
} as const;

/**
 * `lamina finetune`: fine-tunes a checkpoint on a classification or regression data set.
 * @example await main(['finetune', '--checkpoint', 'runs/p', '--train', 'imdb', '--eval', 'imdb', '--out', 'runs/ft', '--max-train', '1000'])
 */
export const finetune: Command = {
  name: 'finetune',
  summary: 'fine-tune a pretrained model on a classification or regression task',
  usage: 'lamina finetune --checkpoint <dir> --train <file|imdb> --eval <file|imdb> --out <dir> [--task classify|regress] [options]',
  options: FINETUNE_OPTIONS,
  examples: [
    'lamina finetune --checkpoint runs/demo/pretrain --train imdb --eval imdb --out runs/imdb --max-train 2000 --max-eval 500',
    'lamina finetune --checkpoint albert-base-v2/ --task regress --train stsb-train.tsv --eval stsb-dev.tsv --out runs/stsb --lr 2e-5',
  ],
  async run(v) {
    const cfg = finetuneConfigFromFlags(v);
    const r = await runFinetune(cfg, { progressMode: progressModeOf(v), beforeCompute: () => useBackend(v) });
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
    'max-examples': { type: 'string', arg: 'N', help: 'score only the first N examples (0: all)', default: '0' },
    'batch-size': { type: 'string', arg: 'B', help: 'examples per forward pass', default: '64' },
    json: { type: 'boolean', help: 'print the metrics as one JSON object' },
    backend: OUTPUT_OPTIONS.backend,
  },
  examples: ['lamina eval-task --checkpoint runs/imdb --data imdb --max-examples 1000', 'lamina eval-task --checkpoint runs/stsb --data stsb-test.tsv --json'],
  async run(v) {
    const dir = str(v, 'checkpoint', 'eval-task');
    const data = str(v, 'data', 'eval-task');
    const maxExamples = num(v, 'max-examples', 0, { min: 0, integer: true });
    const batchSize = num(v, 'batch-size', 64, { min: 1, integer: true });
    const r = await evaluateTask(dir, data, { maxExamples, batchSize, beforeCompute: () => useBackend(v) });
    if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
    const e = r.right;
    if (v.json === true) console.log(JSON.stringify({ ...e.metrics, task: e.task, labels: e.labels, data: e.data, checkpoint: e.checkpoint, step: e.step }));
    else console.log(`${e.data}: ${formatTaskMetrics(e.metrics)}`);
    return EXIT.ok;
  },
};
