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
import { labelSetOf, readExamples } from '../finetune/data.js';
import { runTokenizer } from '../run/data.js';
import { readTrainRunConfig, runTraining, TRAIN_DEFAULTS as D, trainRunConfig, type TrainRunConfig } from '../run/train.js';
import { isModelFile, loadModelFile } from '../models/file.js';
import { resolvePresetModel, TRAIN_PRESET_NAMES } from '../models/presets.js';
import { type Command, CliError, EXIT, num, optStr, str, usageError } from './command.js';
import { OUTPUT_OPTIONS, progressModeOf, useBackend } from './pretrain.js';

/**
 * The options of `lamina train`.
 * @example helpText(train)
 */
export const TRAIN_OPTIONS = {
  model: { type: 'string', arg: 'file.ts|file.js|file.json|preset', help: `a model file (default export: a DSL model or ({ vocabSize, seqLength, numLabels }) => model), its encoded JSON, or a preset (${TRAIN_PRESET_NAMES.join(', ')})` },
  objective: { type: 'string', arg: OBJECTIVE_NAMES.join('|'), help: 'what the model is trained to do' },
  out: { type: 'string', arg: 'dir', help: 'run directory (config, checkpoints, metrics, plots)' },
  corpus: { type: 'string', arg: 'file|dir', help: 'clm/mlm: a text file (documents separated by blank lines) or directory (default: the bundled corpus)' },
  train: { type: 'string', arg: 'file|imdb', help: 'classify/regress: training data, JSONL/TSV with text, optional text_pair, label; or imdb' },
  eval: { type: 'string', arg: 'file|imdb', help: 'classify/regress: held-out data, same format' },
  tokenizer: { type: 'string', arg: 'path', help: 'vocabulary: dir, tokenizer.json or spiece.model (default: the committed 10k vocabulary)' },
  steps: { type: 'string', arg: 'N', help: 'optimizer steps', default: String(D.steps) },
  'batch-size': { type: 'string', arg: 'B', help: 'sequences per micro-batch', default: String(D.batchSize) },
  'grad-accum': { type: 'string', arg: 'K', help: 'micro-batches per step (effective batch B·K)', default: String(D.gradAccum) },
  'seq-len': { type: 'string', arg: 'S', help: 'tokens per sequence', default: String(D.seqLength) },
  lr: { type: 'string', arg: 'x', help: 'peak learning rate', default: String(D.lr) },
  warmup: { type: 'string', arg: 'N', help: 'linear warm-up steps (default 10% of --steps), then linear decay to 0' },
  optimizer: { type: 'string', arg: 'adamw|lamb', help: 'optimizer (AdamW with bias correction)', default: D.optimizer },
  'weight-decay': { type: 'string', arg: 'x', help: 'decoupled weight decay (LayerNorm and biases excluded)', default: String(D.weightDecay) },
  'clip-norm': { type: 'string', arg: 'x', help: 'global-norm gradient clip (0: off)', default: String(D.clipNorm) },
  seed: { type: 'string', arg: 'N', help: 'seed of init, data order and dropout', default: String(D.seed) },
  'checkpoint-every': { type: 'string', arg: 'N', help: 'save a checkpoint every N steps (and at the end)', default: String(D.checkpointEvery) },
  'keep-last': { type: 'string', arg: 'K', help: 'keep the last K checkpoints', default: String(D.keepLast) },
  'eval-every': { type: 'string', arg: 'N', help: 'evaluate every N steps (0: only at start and end)', default: String(D.evalEvery) },
  'eval-batches': { type: 'string', arg: 'N', help: 'held-out batches per evaluation', default: String(D.evalBatches) },
  'eval-fraction': { type: 'string', arg: 'x', help: 'clm/mlm: fraction of documents held out', default: String(D.evalFraction) },
  'max-documents': { type: 'string', arg: 'N', help: 'clm/mlm: use only the first N documents (0: all)', default: String(D.maxDocuments) },
  'max-train': { type: 'string', arg: 'N', help: 'classify/regress: use only the first N training examples (0: all)', default: String(D.maxTrain) },
  'max-eval': { type: 'string', arg: 'N', help: 'classify/regress: use only the first N held-out examples (0: all)', default: String(D.maxEval) },
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint (--steps may extend it)' },
  eager: { type: 'boolean', help: 'run each step op by op instead of as one TensorFlow function (the engine is stored with the run)' },
  xla: { type: 'boolean', help: 'compile the graph step with XLA' },
  ...OUTPUT_OPTIONS,
} as const;

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
  const modelArg = str(v, 'model', 'train');
  const objective = str(v, 'objective', 'train');
  if (!(OBJECTIVE_NAMES as readonly string[]).includes(objective)) throw usageError(`--objective must be one of ${OBJECTIVE_NAMES.join(', ')}, got "${objective}"`);
  const optimizer = optStr(v, 'optimizer') ?? D.optimizer;
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(optimizer)) throw usageError(`--optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got "${optimizer}"`);
  const steps = num(v, 'steps', D.steps, { min: 1, integer: true });
  const seqLength = num(v, 'seq-len', D.seqLength, { min: 2, max: 65536, integer: true });
  const tok = runTokenizer(optStr(v, 'tokenizer'));
  if (E.isLeft(tok)) throw usageError(tok.left);
  const train = optStr(v, 'train');
  let numLabels = 0;
  if (objective === 'classify' && train !== undefined) {
    const ex = readExamples(train, 'train', num(v, 'max-train', D.maxTrain, { min: 0, integer: true }));
    if (E.isLeft(ex)) throw usageError(ex.left);
    numLabels = labelSetOf(ex.right.raw).length;
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
      maxDocuments: num(v, 'max-documents', D.maxDocuments, { min: 0, integer: true }),
      evalFraction: num(v, 'eval-fraction', D.evalFraction, { min: 0.001, max: 0.5 }),
      maxTrain: num(v, 'max-train', D.maxTrain, { min: 0, integer: true }),
      maxEval: num(v, 'max-eval', D.maxEval, { min: 0, integer: true }),
    },
    steps,
    batchSize: num(v, 'batch-size', D.batchSize, { min: 1, max: 65536, integer: true }),
    gradAccum: num(v, 'grad-accum', D.gradAccum, { min: 1, max: 4096, integer: true }),
    lr: num(v, 'lr', D.lr, { min: 0, max: 10 }),
    warmup: num(v, 'warmup', Math.round(steps / 10), { min: 0, integer: true }),
    optimizer: optimizer as OptimizerKind,
    weightDecay: num(v, 'weight-decay', D.weightDecay, { min: 0 }),
    clipNorm: num(v, 'clip-norm', D.clipNorm, { min: 0 }),
    seed: num(v, 'seed', D.seed, { min: 0, max: 2 ** 32 - 1, integer: true }),
    checkpointEvery: num(v, 'checkpoint-every', D.checkpointEvery, { min: 0, integer: true }),
    evalEvery: num(v, 'eval-every', D.evalEvery, { min: 0, integer: true }),
    evalBatches: num(v, 'eval-batches', D.evalBatches, { min: 1, max: 100000, integer: true }),
    keepLast: num(v, 'keep-last', D.keepLast, { min: 1, integer: true }),
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
    'lamina generate --checkpoint runs/tiny-gpt --prompt "Call me"',
  ],
  async run(v) {
    const out = str(v, 'out', 'train');
    let cfg: TrainRunConfig;
    if (v.resume === true) {
      const stored = readTrainRunConfig(out);
      if (E.isLeft(stored)) throw new CliError(stored.left.message, stored.left.code);
      cfg = optStr(v, 'steps') ? { ...stored.right, steps: num(v, 'steps', stored.right.steps, { min: 1, integer: true }) } : stored.right;
    } else cfg = { ...(await trainConfigFromFlags(v)), engine: v.eager === true ? 'eager' : 'graph', xla: v.xla === true };
    const r = await runTraining(cfg, out, v.resume === true, { progressMode: progressModeOf(v), beforeCompute: () => useBackend(v) });
    if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
    return EXIT.ok;
  },
};
