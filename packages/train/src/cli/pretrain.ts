/**
 * `lamina pretrain`: MLM + sentence-order (or NSP) pretraining of an ALBERT-family model.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { selectBackend } from '@lamina/dsl';
import { BIAS_CORRECTION_DEFAULTS, OPTIMIZER_KINDS, type OptimizerKind } from '../optim/optimizer.js';
import { chooseMode } from '../progress.js';
import { readRunConfig, runPretraining, type RunConfig, type RunSummary } from '../run/pretrain.js';
import { runTokenizer } from '../run/data.js';
import { type Command, CliError, EXIT, num, optStr, str, usageError } from './command.js';
import { MODEL_OPTIONS, resolveModel } from './model-arg.js';
import { CLUSTER_OPTIONS, clusterRun } from './cluster-args.js';
import { biasCorrectionFlag, biasCorrectionOption } from './optim-args.js';

/** Flags shared by `pretrain` and `demo` for progress output. */
export const OUTPUT_OPTIONS = {
  quiet: { type: 'boolean', help: 'print only errors and the final summary' },
  'json-logs': { type: 'boolean', help: 'one JSON object per event on stdout' },
  backend: { type: 'string', arg: 'name', help: 'tensorflow-gpu|tensorflow|wasm|cpu (default: best available)' },
} as const;

/** Selects the backend for a command (a bad name is exit 2). */
export const useBackend = async (v: Record<string, unknown>): Promise<void> => {
  const r = await selectBackend({ requested: optStr(v, 'backend') });
  if (E.isLeft(r)) throw usageError(r.left.message);
};

/** The progress mode from --quiet/--json-logs and whether stdout is a terminal. */
export const progressModeOf = (v: Record<string, unknown>) => chooseMode({ isTTY: process.stdout.isTTY === true, quiet: v.quiet === true, jsonLogs: v['json-logs'] === true });

const OBJECTIVES = ['sop', 'nsp', 'none'] as const;

/** Builds the run config from pretrain flags (all validated; bad input is a usage error). */
export const runConfigFromFlags = (v: Record<string, unknown>, defaults: { model?: string } = {}): RunConfig => {
  const { config, source } = resolveModel(v, defaults.model ?? 'albert-base');
  const tok = runTokenizer(optStr(v, 'tokenizer'));
  if (E.isLeft(tok)) throw usageError(tok.left);
  const objective = optStr(v, 'objective') ?? 'sop';
  if (!(OBJECTIVES as readonly string[]).includes(objective)) throw usageError(`--objective must be one of ${OBJECTIVES.join(', ')}, got "${objective}"`);
  const optimizer = optStr(v, 'optimizer') ?? 'lamb';
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(optimizer)) throw usageError(`--optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got "${optimizer}"`);
  const seqLength = num(v, 'seq-len', 128, { min: 8, max: config.maxPositionEmbeddings, integer: true });
  const steps = num(v, 'steps', 1000, { min: 1, integer: true });
  const dropout = num(v, 'dropout', 0, { min: 0, max: 0.9 });
  const model = { ...config, vocabSize: tok.right.vocabSize, hiddenDropoutProb: dropout, attentionProbsDropoutProb: dropout };
  return {
    model,
    modelSource: source,
    data: {
      corpus: optStr(v, 'corpus'),
      tokenizer: optStr(v, 'tokenizer'),
      maxDocuments: num(v, 'max-documents', 0, { min: 0, integer: true }),
      seqLength,
      maxPredictions: num(v, 'max-predictions', Math.max(1, Math.ceil(0.15 * seqLength)), { min: 1, max: seqLength, integer: true }),
      objective: objective as RunConfig['data']['objective'],
      dupeFactor: num(v, 'dupe-factor', 1, { min: 1, max: 100, integer: true }),
      evalFraction: num(v, 'eval-fraction', 0.05, { min: 0.001, max: 0.5 }),
      seed: num(v, 'seed', 12345, { min: 0, integer: true }),
    },
    steps,
    batchSize: num(v, 'batch-size', 32, { min: 1, integer: true }),
    gradAccum: num(v, 'grad-accum', 1, { min: 1, integer: true }),
    lr: num(v, 'lr', 1e-3, { min: 0 }),
    warmup: num(v, 'warmup', Math.round(steps / 10), { min: 0, integer: true }),
    optimizer: optimizer as OptimizerKind,
    biasCorrection: biasCorrectionFlag(v, BIAS_CORRECTION_DEFAULTS.pretrain),
    weightDecay: num(v, 'weight-decay', 0.01, { min: 0 }),
    clipNorm: num(v, 'clip-norm', 1, { min: 0 }),
    seed: num(v, 'seed', 12345, { min: 0, integer: true }),
    checkpointEvery: num(v, 'checkpoint-every', 200, { min: 0, integer: true }),
    evalEvery: num(v, 'eval-every', 100, { min: 0, integer: true }),
    evalBatches: num(v, 'eval-batches', 8, { min: 1, integer: true }),
    keepLast: num(v, 'keep-last', 3, { min: 1, integer: true }),
  };
};

/** The options of `pretrain` (also used by `demo`). */
export const PRETRAIN_OPTIONS = {
  ...MODEL_OPTIONS,
  corpus: { type: 'string', arg: 'file|dir', help: 'text corpus: a file or a directory (default: the bundled public-domain corpus)' },
  tokenizer: { type: 'string', arg: 'path', help: 'vocabulary: dir, tokenizer.json or spiece.model (default: the committed 10k vocabulary)' },
  out: { type: 'string', arg: 'dir', help: 'run directory (config, checkpoints, metrics, plots)' },
  steps: { type: 'string', arg: 'N', help: 'optimizer steps', default: '1000' },
  'batch-size': { type: 'string', arg: 'B', help: 'sequences per micro-batch', default: '32' },
  'grad-accum': { type: 'string', arg: 'K', help: 'micro-batches per step (effective batch B·K)', default: '1' },
  'seq-len': { type: 'string', arg: 'S', help: 'tokens per sequence', default: '128' },
  'max-predictions': { type: 'string', arg: 'P', help: 'masked tokens per sequence at most (default ceil(0.15·S))' },
  lr: { type: 'string', arg: 'x', help: 'peak learning rate', default: '0.001' },
  warmup: { type: 'string', arg: 'N', help: 'linear warm-up steps (default 10% of --steps), then linear decay to 0' },
  optimizer: { type: 'string', arg: 'lamb|adamw', help: 'optimizer', default: 'lamb' },
  'bias-correction': biasCorrectionOption(BIAS_CORRECTION_DEFAULTS.pretrain),
  'weight-decay': { type: 'string', arg: 'x', help: 'decoupled weight decay (LayerNorm and biases excluded)', default: '0.01' },
  'clip-norm': { type: 'string', arg: 'x', help: 'global-norm gradient clip (0: off)', default: '1' },
  objective: { type: 'string', arg: 'sop|nsp|none', help: 'sentence-level objective besides MLM', default: 'sop' },
  dropout: { type: 'string', arg: 'p', help: 'dropout on hidden states and attention', default: '0' },
  seed: { type: 'string', arg: 'N', help: 'seed of init, data order, masking and dropout', default: '12345' },
  'checkpoint-every': { type: 'string', arg: 'N', help: 'save a checkpoint every N steps (and at the end)', default: '200' },
  'keep-last': { type: 'string', arg: 'K', help: 'keep the last K checkpoints', default: '3' },
  'eval-every': { type: 'string', arg: 'N', help: 'evaluate on held-out documents every N steps (0: only at start and end)', default: '100' },
  'eval-batches': { type: 'string', arg: 'N', help: 'held-out batches per evaluation', default: '8' },
  'eval-fraction': { type: 'string', arg: 'x', help: 'fraction of documents held out', default: '0.05' },
  'max-documents': { type: 'string', arg: 'N', help: 'use only the first N documents of the corpus (0: all)', default: '0' },
  'dupe-factor': { type: 'string', arg: 'N', help: 'passes over the corpus with different masks', default: '1' },
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint' },
  ...CLUSTER_OPTIONS,
  ...OUTPUT_OPTIONS,
} as const;

/** Prints a run's outcome and turns it into an exit code. */
export const finishRun = (r: E.Either<{ message: string; code: 1 | 2 }, RunSummary>): RunSummary => {
  if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
  return r.right;
};

/** `lamina pretrain`. */
export const pretrain: Command = {
  name: 'pretrain',
  summary: 'pretrain a model with MLM (n-gram masking) + sentence-order prediction',
  usage: 'lamina pretrain --model <preset|config.json> --out <run-dir> [--corpus <file|dir>] [options]',
  options: PRETRAIN_OPTIONS,
  examples: [
    'lamina pretrain --model albert-base --out runs/base --steps 10000 --batch-size 16 --grad-accum 8',
    'lamina pretrain --model my-config.json --corpus books/ --out runs/books --objective nsp',
    'lamina pretrain --out runs/base --resume',
    'lamina pretrain --model albert-base --out runs/base --batch-size 32 --workers 2',
    'lamina pretrain --out /shared/runs/base --cluster 10.0.0.1:2222,10.0.0.2:2222 --task-index 0   (and --task-index 1 on the second host)',
  ],
  async run(v) {
    const out = str(v, 'out', 'pretrain');
    const how = clusterRun(v, 'pretrain', PRETRAIN_OPTIONS);
    let cfg: RunConfig;
    if (v.resume === true) {
      const stored = readRunConfig(out);
      if (E.isLeft(stored)) throw new CliError(stored.left.message, stored.left.code);
      const stepsFlag = optStr(v, 'steps');
      cfg = stepsFlag ? { ...stored.right, steps: num(v, 'steps', stored.right.steps, { min: 1, integer: true }) } : stored.right;
    } else cfg = runConfigFromFlags(v);
    // the flags are checked once here, before any worker is launched
    if (how.kind === 'launch') return how.launch();
    await useBackend(v);
    const group = how.kind === 'member' ? how.join() : undefined;
    // an interrupted run saved its checkpoint: that is a success too (exit 0)
    finishRun(await runPretraining(cfg, out, v.resume === true, { progressMode: progressModeOf(v), ...(group ? { group } : {}) }));
    return EXIT.ok;
  },
};
