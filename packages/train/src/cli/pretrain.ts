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
import { type Command, type OptionSpec, CliError, EXIT, intOption, LIMITS, numberOption, numOr, optNum, optStr, quoteInput, str, usageError } from './command.js';
import { MODEL_OPTIONS, resolveModel } from './model-arg.js';
import { CLUSTER_OPTIONS, clusterRun } from './cluster-args.js';
import { biasCorrectionFlag, biasCorrectionOption } from './optim-args.js';
import { checkOutDir, diffResumeFlags, type FlagValue } from '../run/rundir.js';
import path from 'node:path';

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

/**
 * Builds the run config from pretrain flags (all validated against the option specs; bad input
 * is a usage error). `--model` is required.
 * @example runConfigFromFlags({ model: 'albert-base', out: 'runs/x', steps: '100' }).steps // 100
 */
export const runConfigFromFlags = (v: Record<string, unknown>): RunConfig => {
  const O = PRETRAIN_OPTIONS;
  const { config, source } = resolveModel(v);
  const tok = runTokenizer(optStr(v, 'tokenizer'));
  if (E.isLeft(tok)) throw usageError(tok.left);
  const objective = optStr(v, 'objective') ?? String(O.objective.default);
  if (!(OBJECTIVES as readonly string[]).includes(objective)) throw usageError(`--objective must be one of ${OBJECTIVES.join(', ')}, got ${quoteInput(objective)}`);
  const optimizer = optStr(v, 'optimizer') ?? String(O.optimizer.default);
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(optimizer)) throw usageError(`--optimizer must be one of ${OPTIMIZER_KINDS.join(', ')}, got ${quoteInput(optimizer)}`);
  const seqLength = numOr(O, v, 'seq-len', Math.min(Number(O['seq-len'].default), config.maxPositionEmbeddings));
  if (seqLength > config.maxPositionEmbeddings) throw usageError(`--seq-len must be an integer <= ${config.maxPositionEmbeddings} (the model's maxPositionEmbeddings), got ${seqLength}`);
  const steps = numOr(O, v, 'steps');
  const dropout = numOr(O, v, 'dropout');
  const maxPredictions = numOr(O, v, 'max-predictions', Math.max(1, Math.ceil(0.15 * seqLength)));
  if (maxPredictions > seqLength) throw usageError(`--max-predictions must be an integer <= ${seqLength} (--seq-len), got ${maxPredictions}`);
  const model = { ...config, vocabSize: tok.right.vocabSize, hiddenDropoutProb: dropout, attentionProbsDropoutProb: dropout };
  const seed = numOr(O, v, 'seed');
  return {
    model,
    modelSource: source,
    data: {
      corpus: optStr(v, 'corpus'),
      tokenizer: optStr(v, 'tokenizer'),
      maxDocuments: numOr(O, v, 'max-documents'),
      seqLength,
      maxPredictions,
      objective: objective as RunConfig['data']['objective'],
      dupeFactor: numOr(O, v, 'dupe-factor'),
      evalFraction: numOr(O, v, 'eval-fraction'),
      seed,
    },
    steps,
    batchSize: numOr(O, v, 'batch-size'),
    gradAccum: numOr(O, v, 'grad-accum'),
    lr: numOr(O, v, 'lr'),
    warmup: numOr(O, v, 'warmup', Math.round(steps / 10)),
    optimizer: optimizer as OptimizerKind,
    biasCorrection: biasCorrectionFlag(v, BIAS_CORRECTION_DEFAULTS.pretrain),
    weightDecay: numOr(O, v, 'weight-decay'),
    clipNorm: numOr(O, v, 'clip-norm'),
    seed,
    checkpointEvery: numOr(O, v, 'checkpoint-every'),
    evalEvery: numOr(O, v, 'eval-every'),
    evalBatches: numOr(O, v, 'eval-batches'),
    keepLast: numOr(O, v, 'keep-last'),
  };
};

/**
 * The run-config field each pretraining flag sets (what `--resume` compares against the stored run).
 * @example PRETRAIN_FLAG_FIELDS['batch-size'] // 'batchSize'
 */
export const PRETRAIN_FLAG_FIELDS: Readonly<Record<string, string>> = {
  model: 'model',
  sharing: 'model.sharing',
  'embedding-size': 'model.embeddingSize',
  corpus: 'data.corpus',
  tokenizer: 'data.tokenizer',
  steps: 'steps',
  'batch-size': 'batchSize',
  'grad-accum': 'gradAccum',
  'seq-len': 'data.seqLength',
  'max-predictions': 'data.maxPredictions',
  lr: 'lr',
  warmup: 'warmup',
  optimizer: 'optimizer',
  'weight-decay': 'weightDecay',
  'clip-norm': 'clipNorm',
  objective: 'data.objective',
  dropout: 'model.hiddenDropoutProb',
  seed: 'seed',
  'checkpoint-every': 'checkpointEvery',
  'keep-last': 'keepLast',
  'eval-every': 'evalEvery',
  'eval-batches': 'evalBatches',
  'eval-fraction': 'data.evalFraction',
  'max-documents': 'data.maxDocuments',
  'dupe-factor': 'data.dupeFactor',
};

/** The options of `pretrain` (also used by `demo`). Numeric bounds and defaults are stated here once. */
export const PRETRAIN_OPTIONS = {
  ...MODEL_OPTIONS,
  corpus: { type: 'string', arg: 'file|dir', help: 'text corpus: a file or a directory (default: the bundled public-domain corpus)' },
  tokenizer: { type: 'string', arg: 'path', help: 'vocabulary: dir, tokenizer.json or spiece.model (default: the committed 10k vocabulary)' },
  out: { type: 'string', arg: 'dir', help: 'run directory (config, checkpoints, metrics, plots)' },
  steps: intOption('optimizer steps', { min: 1, max: LIMITS.steps, default: 1000 }),
  'batch-size': intOption('sequences per micro-batch', { min: 1, max: LIMITS.batchSize, default: 32, arg: 'B' }),
  'grad-accum': intOption('micro-batches per step (effective batch B·K)', { min: 1, max: LIMITS.gradAccum, default: 1, arg: 'K' }),
  'seq-len': intOption("tokens per sequence (default: 128 or the model's maxPositionEmbeddings if smaller)", { min: 8, max: LIMITS.seqLength, default: 128, arg: 'S' }),
  'max-predictions': intOption('masked tokens per sequence at most (default ceil(0.15·S))', { min: 1, max: LIMITS.seqLength, arg: 'P' }),
  lr: numberOption('peak learning rate', { min: 0, max: LIMITS.lr, default: 0.001 }),
  warmup: intOption('linear warm-up steps (default 10% of --steps), then linear decay to 0', { min: 0, max: LIMITS.steps }),
  optimizer: { type: 'string', arg: 'lamb|adamw', help: 'optimizer', default: 'lamb' },
  'bias-correction': biasCorrectionOption(BIAS_CORRECTION_DEFAULTS.pretrain),
  'weight-decay': numberOption('decoupled weight decay (LayerNorm and biases excluded)', { min: 0, max: LIMITS.weightDecay, default: 0.01 }),
  'clip-norm': numberOption('global-norm gradient clip (0: off)', { min: 0, max: LIMITS.clipNorm, default: 1 }),
  objective: { type: 'string', arg: 'sop|nsp|none', help: 'sentence-level objective besides MLM', default: 'sop' },
  dropout: numberOption('dropout on hidden states and attention', { min: 0, max: 0.9, default: 0, arg: 'p' }),
  seed: intOption('seed of init, data order, masking and dropout', { min: 0, max: LIMITS.seed, default: 12345 }),
  'checkpoint-every': intOption('save a checkpoint every N steps (and at the end; 0: only at the end)', { min: 0, max: LIMITS.steps, default: 200 }),
  'keep-last': intOption('keep the last K checkpoints', { min: 1, max: LIMITS.keepLast, default: 3, arg: 'K' }),
  'eval-every': intOption('evaluate on held-out documents every N steps (0: only at start and end)', { min: 0, max: LIMITS.steps, default: 100 }),
  'eval-batches': intOption('held-out batches per evaluation', { min: 1, max: LIMITS.evalBatches, default: 8 }),
  'eval-fraction': numberOption('fraction of documents held out', { min: 0.001, max: 0.5, default: 0.05 }),
  'max-documents': intOption('use only the first N documents of the corpus (0: all)', { min: 0, max: LIMITS.documents, default: 0 }),
  'dupe-factor': intOption('passes over the corpus with different masks', { min: 1, max: 100, default: 1 }),
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint (--steps may extend it; other flags must match the run)' },
  eager: { type: 'boolean', help: 'run each training step and evaluation op by op (default: one TensorFlow graph per step, and per eval batch shape, on the native backend)' },
  xla: { type: 'boolean', help: 'compile the graph step with XLA (opt-in for every objective: measured on AMD EPYC, 10-110 s of compile per input shape, slower than the graph step even on an idle machine (0.95x pretraining, 0.71x fine-tuning), and other dropout masks than the eager step; packages/bench/TRIED.md)' },
  ...CLUSTER_OPTIONS,
  ...OUTPUT_OPTIONS,
} as const satisfies Record<string, OptionSpec>;

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
      const dir = checkOutDir(out, { kind: 'lamina-pretraining-run', resume: true });
      if (E.isLeft(dir)) throw new CliError(dir.left.message, dir.left.code);
      const stored = readRunConfig(out);
      if (E.isLeft(stored)) throw new CliError(stored.left.message, stored.left.code);
      const same = diffResumeFlags(out, resumeFlagValues(v, stored.right), ['steps']);
      if (E.isLeft(same)) throw new CliError(same.left.message, same.left.code);
      const steps = optNum(PRETRAIN_OPTIONS, v, 'steps');
      cfg = steps !== undefined ? { ...stored.right, steps } : stored.right;
    } else cfg = runConfigFromFlags(v);
    // the flags are checked once here, before any worker is launched
    if (how.kind === 'launch') return how.launch();
    // a group member joins the collective runtime, which needs the backend now; a single
    // process selects it once its input has been checked (runPretraining's beforeCompute)
    if (how.kind === 'member') await useBackend(v);
    const group = how.kind === 'member' ? how.join() : undefined;
    // an interrupted run saved its checkpoint: that is a success too (exit 0)
    finishRun(await runPretraining(cfg, out, v.resume === true, { progressMode: progressModeOf(v), engine: v.eager === true ? 'eager' : 'graph', xla: v.xla === true, ...(group ? { group } : { beforeCompute: () => useBackend(v) }) }));
    return EXIT.ok;
  },
};

const getPath = (o: unknown, p: string): unknown => p.split('.').reduce<unknown>((a, k) => (a !== null && typeof a === 'object' ? (a as Record<string, unknown>)[k] : undefined), o);

/** Flags that only say how a run reports (they may differ on every resume). */
const REPORTING_FLAGS = new Set(['out', 'resume', 'quiet', 'json-logs', 'backend', 'help', 'verbose']);

/**
 * The value each given pretraining flag asks for and the value the stored run has, for
 * {@link diffResumeFlags}. `--model` (with `--sharing`/`--embedding-size`) is compared as the
 * resolved model config; paths are compared as given and resolved.
 * @example resumeFlagValues({ lr: '5' }, stored) // [{ flag: 'lr', given: 5, stored: 0.001 }]
 */
export const resumeFlagValues = (v: Record<string, unknown>, stored: RunConfig): FlagValue[] => {
  const out: FlagValue[] = [];
  const given = Object.keys(v).filter((k) => v[k] !== undefined && !REPORTING_FLAGS.has(k));
  const modelFlags = ['model', 'sharing', 'embedding-size'].filter((k) => given.includes(k));
  if (given.includes('model')) {
    const { config } = resolveModel(v);
    const keep = { vocabSize: stored.model.vocabSize, hiddenDropoutProb: stored.model.hiddenDropoutProb, attentionProbsDropoutProb: stored.model.attentionProbsDropoutProb };
    out.push({ flag: modelFlags.join(', --'), given: { ...config, ...keep }, stored: stored.model });
  } else {
    if (given.includes('sharing')) out.push({ flag: 'sharing', given: v.sharing, stored: stored.model.sharing });
    if (given.includes('embedding-size')) out.push({ flag: 'embedding-size', given: optNum(MODEL_OPTIONS, v, 'embedding-size'), stored: stored.model.embeddingSize });
  }
  for (const flag of given) {
    if (modelFlags.includes(flag)) continue;
    const field = PRETRAIN_FLAG_FIELDS[flag];
    if (field === undefined) continue;
    const spec = (PRETRAIN_OPTIONS as Record<string, OptionSpec>)[flag];
    const s = getPath(stored, field);
    if (spec?.number) out.push({ flag, given: optNum(PRETRAIN_OPTIONS, v, flag), stored: s });
    else if (flag === 'corpus' || flag === 'tokenizer') {
      const g = String(v[flag]);
      const sameFile = typeof s === 'string' && (s === g || path.resolve(s) === path.resolve(g));
      out.push({ flag, given: g, stored: sameFile ? g : (s ?? null) });
    } else out.push({ flag, given: v[flag], stored: s });
  }
  return out;
};

