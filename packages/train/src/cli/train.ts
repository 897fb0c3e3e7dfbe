/**
 * `lamina train`: trains any model written in the DSL — a `.ts`/`.js` file anywhere on disk, a
 * `.json` file holding its encoded value, or a preset — with an objective (`clm`, `mlm`,
 * `classify`, `regress`, `token-classify`), on the one training loop (exact resume, SIGINT/SIGTERM
 * → checkpoint → exit 0).
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { encodeModel, type Node } from '@lamina/dsl';
import { OPTIMIZER_KINDS, type OptimizerKind } from '../optim/optimizer.js';
import { OBJECTIVE_NAMES, type ObjectiveName } from '../objectives/index.js';
import { labelSetOf, readExamples, readTaggedFile } from '../finetune/data.js';
import { taggedLabelSet } from '../run/token-data.js';
import { runTokenizer } from '../run/data.js';
import { readTrainRunConfig, runTraining, TRAIN_DEFAULTS as D, trainRunConfig, type TrainRunConfig } from '../run/train.js';
import { isModelFile, loadModelFile } from '../models/file.js';
import { resolvePresetModel, TRAIN_PRESET_NAMES } from '../models/presets.js';
import { type Command, type OptionSpec, CliError, EXIT, intOption, LIMITS, numberOption, numOr, optNum, optStr, str, usageError } from './command.js';
import { OUTPUT_OPTIONS, progressModeOf, useBackend } from './pretrain.js';
import { CLUSTER_OPTIONS, clusterRun } from './cluster-args.js';

/**
 * The options of `lamina train`.
 * @example helpText(train)
 */
export const TRAIN_OPTIONS = {
  model: { type: 'string', arg: 'file.ts|file.js|file.json|preset', help: `a model file (default export: a DSL model or ({ vocabSize, seqLength, numLabels }) => model), its encoded JSON, or a preset (${TRAIN_PRESET_NAMES.join(', ')})` },
  objective: { type: 'string', arg: OBJECTIVE_NAMES.join('|'), help: 'what the model is trained to do' },
  out: { type: 'string', arg: 'dir', help: 'run directory (config, checkpoints, metrics, plots)' },
  corpus: { type: 'string', arg: 'file|dir', help: 'clm/mlm: a text file (documents separated by blank lines) or directory (default: the bundled corpus)' },
  train: { type: 'string', arg: 'file|imdb', help: 'classify/regress: training data, JSONL/TSV with text, optional text_pair, label; or imdb. token-classify: JSONL, one {"tokens": ["John", "lives"], "labels": ["B-PER", "O"]} per line (a label per word; it goes on the word\'s first piece)' },
  eval: { type: 'string', arg: 'file|imdb', help: 'classify/regress/token-classify: held-out data, same format' },
  tokenizer: { type: 'string', arg: 'path', help: 'vocabulary: dir, tokenizer.json or spiece.model (default: the committed 10k vocabulary)' },
  steps: intOption('optimizer steps', { min: 1, max: LIMITS.steps, default: D.steps }),
  'batch-size': intOption('sequences per micro-batch', { min: 1, max: LIMITS.batchSize, default: D.batchSize, arg: 'B' }),
  'grad-accum': intOption('micro-batches per step (effective batch B·K)', { min: 1, max: LIMITS.gradAccum, default: D.gradAccum, arg: 'K' }),
  'seq-len': intOption('tokens per sequence', { min: 2, max: LIMITS.seqLength, default: D.seqLength, arg: 'S' }),
  lr: numberOption('peak learning rate', { min: 0, max: LIMITS.lr, default: D.lr }),
  warmup: intOption('linear warm-up steps (default 10% of --steps), then linear decay to 0', { min: 0, max: LIMITS.steps }),
  optimizer: { type: 'string', arg: 'adamw|lamb', help: 'optimizer (AdamW with bias correction)', default: D.optimizer },
  'weight-decay': numberOption('decoupled weight decay (LayerNorm and biases excluded)', { min: 0, max: LIMITS.weightDecay, default: D.weightDecay }),
  'clip-norm': numberOption('global-norm gradient clip (0: off)', { min: 0, max: LIMITS.clipNorm, default: D.clipNorm }),
  seed: intOption('seed of init, data order and dropout', { min: 0, max: LIMITS.seed, default: D.seed }),
  'checkpoint-every': intOption('save a checkpoint every N steps (and at the end; 0: only at the end)', { min: 0, max: LIMITS.steps, default: D.checkpointEvery }),
  'keep-last': intOption('keep the last K checkpoints', { min: 1, max: LIMITS.keepLast, default: D.keepLast, arg: 'K' }),
  'eval-every': intOption('evaluate every N steps (0: only at start and end)', { min: 0, max: LIMITS.steps, default: D.evalEvery }),
  'eval-batches': intOption('held-out batches per evaluation', { min: 1, max: LIMITS.evalBatches, default: D.evalBatches }),
  'eval-fraction': numberOption('clm/mlm: fraction of documents held out', { min: 0.001, max: 0.5, default: D.evalFraction }),
  'max-documents': intOption('clm/mlm: use only the first N documents (0: all)', { min: 0, max: LIMITS.documents, default: D.maxDocuments }),
  'max-train': intOption('classify/regress/token-classify: use only the first N training examples (0: all)', { min: 0, max: LIMITS.examples, default: D.maxTrain }),
  'max-eval': intOption('classify/regress/token-classify: use only the first N held-out examples (0: all)', { min: 0, max: LIMITS.examples, default: D.maxEval }),
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint (--steps may extend it)' },
  ...CLUSTER_OPTIONS,
  eager: { type: 'boolean', help: 'run each step and evaluation op by op instead of as one TensorFlow function (the engine is stored with the run)' },
  xla: { type: 'boolean', help: 'compile the graph step with XLA (opt-in for every objective: measured on AMD EPYC, 10-110 s of compile per input shape, slower than the graph step even on an idle machine (0.95x pretraining, 0.71x fine-tuning), and other dropout masks than the eager step; packages/bench/TRIED.md)' },
  ...OUTPUT_OPTIONS,
} as const satisfies Record<string, OptionSpec>;

/**
 * Reads the model of `--model` (a file or a preset) for the run's sizes.
 * @example await modelFromArg('my-model.ts', { vocabSize: 10000, seqLength: 64, numLabels: 0 }, 'clm')
 */
export const modelFromArg = async (arg: string, args: { vocabSize: number; seqLength: number; numLabels: number }, objective: ObjectiveName): Promise<Node> => {
  if (isModelFile(arg)) {
    const m = await loadModelFile(arg, args);
    if (E.isLeft(m)) throw usageError(m.left);
    return m.right;
  }
  const p = resolvePresetModel(arg, args, objective);
  if (E.isLeft(p)) throw usageError(p.left);
  return p.right;
};

/**
 * Builds a run config from `lamina train` flags (all validated; bad input is a usage error).
 * @example await trainConfigFromFlags({ model: 'm.ts', objective: 'clm', corpus: 'a.txt', out: 'r' })
 */
export const trainConfigFromFlags = async (v: Record<string, unknown>): Promise<TrainRunConfig> => {
  const O = TRAIN_OPTIONS;
  const modelArg = str(v, 'model', 'train');
  const objective = str(v, 'objective', 'train');
  if (!(OBJECTIVE_NAMES as readonly string[]).includes(objective)) throw usageError(`--objective must be one of ${OBJECTIVE_NAMES.join(', ')}, got "${objective}"`);
  const optimizer = optStr(v, 'optimizer') ?? D.optimizer;
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(optimizer)) throw usageError(`--optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got "${optimizer}"`);
  const steps = numOr(O, v, 'steps');
  const seqLength = numOr(O, v, 'seq-len');
  const tok = runTokenizer(optStr(v, 'tokenizer'));
  if (E.isLeft(tok)) throw usageError(tok.left);
  const train = optStr(v, 'train');
  let numLabels = 0;
  if (objective === 'classify' && train !== undefined) {
    const ex = readExamples(train, 'train', numOr(O, v, 'max-train'));
    if (E.isLeft(ex)) throw usageError(ex.left);
    numLabels = labelSetOf(ex.right.raw).length;
  } else if (objective === 'token-classify' && train !== undefined) {
    const ex = readTaggedFile(train, numOr(O, v, 'max-train'));
    if (E.isLeft(ex)) throw usageError(ex.left);
    numLabels = taggedLabelSet(ex.right).length;
  } else if (objective === 'regress') numLabels = 1;
  const model = await modelFromArg(modelArg, { vocabSize: tok.right.vocabSize, seqLength, numLabels }, objective as ObjectiveName);
  return trainRunConfig({
    model: encodeModel(model),
    modelSource: modelArg,
    objective: objective as ObjectiveName,
    data: {
      corpus: optStr(v, 'corpus'),
      train,
      eval: optStr(v, 'eval'),
      tokenizer: optStr(v, 'tokenizer'),
      seqLength,
      maxDocuments: numOr(O, v, 'max-documents'),
      evalFraction: numOr(O, v, 'eval-fraction'),
      maxTrain: numOr(O, v, 'max-train'),
      maxEval: numOr(O, v, 'max-eval'),
    },
    steps,
    batchSize: numOr(O, v, 'batch-size'),
    gradAccum: numOr(O, v, 'grad-accum'),
    lr: numOr(O, v, 'lr'),
    warmup: numOr(O, v, 'warmup', Math.round(steps / 10)),
    optimizer: optimizer as OptimizerKind,
    weightDecay: numOr(O, v, 'weight-decay'),
    clipNorm: numOr(O, v, 'clip-norm'),
    seed: numOr(O, v, 'seed'),
    checkpointEvery: numOr(O, v, 'checkpoint-every'),
    evalEvery: numOr(O, v, 'eval-every'),
    evalBatches: numOr(O, v, 'eval-batches'),
    keepLast: numOr(O, v, 'keep-last'),
  });
};

/** `lamina train`. */
export const train: Command = {
  name: 'train',
  summary: 'train any DSL model (a .ts/.js/.json model file or a preset) with clm, mlm, classify, regress or token-classify',
  usage: 'lamina train --model <file.ts|file.js|file.json|preset> --objective <objective> --out <run-dir> [--corpus …|--train … --eval …] [options]',
  options: TRAIN_OPTIONS,
  examples: [
    'lamina train --model ~/models/tiny-gpt.ts --objective clm --corpus notes.txt --out runs/tiny-gpt --steps 500',
    'lamina train --model conv.json --objective classify --train imdb --eval imdb --out runs/conv',
    'lamina train --out runs/tiny-gpt --resume --steps 1000',
    'lamina train --model ~/models/tiny-gpt.ts --objective clm --out runs/tiny-gpt --batch-size 16 --workers 2',
    'lamina generate --checkpoint runs/tiny-gpt --prompt "Call me"',
  ],
  async run(v) {
    const out = str(v, 'out', 'train');
    const how = clusterRun(v, 'train', TRAIN_OPTIONS);
    let cfg: TrainRunConfig;
    if (v.resume === true) {
      const stored = readTrainRunConfig(out);
      if (E.isLeft(stored)) throw new CliError(stored.left.message, stored.left.code);
      const steps = optNum(TRAIN_OPTIONS, v, 'steps');
      cfg = steps !== undefined ? { ...stored.right, steps } : stored.right;
    } else cfg = { ...(await trainConfigFromFlags(v)), engine: v.eager === true ? 'eager' : 'graph', xla: v.xla === true };
    // the flags are checked once, before any worker is launched; a group member joins the
    // collective runtime (backend first, before any tensor exists)
    if (how.kind === 'launch') return how.launch();
    if (how.kind === 'member') await useBackend(v);
    const group = how.kind === 'member' ? how.join() : undefined;
    const r = await runTraining(cfg, out, v.resume === true, { progressMode: progressModeOf(v), ...(group ? { group } : { beforeCompute: () => useBackend(v) }) });
    if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
    return EXIT.ok;
  },
};
