/**
 * `lamina eval`: held-out MLM accuracy/perplexity and sentence-order accuracy of a pretrained
 * model (a lamina run or a Hugging Face ALBERT directory), a Hugging Face GPT-2 directory's clm
 * loss/perplexity on `--corpus` (its own tokenizer), a `lamina train` run's objective
 * metrics, or (`--model`) any DSL model as initialised: the baseline a run's eval compares to.
 * Evaluation runs on the graph path by default (one TensorFlow function per batch shape), `--eager`
 * op by op; one line on stderr names the engine.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import { buildPretrainingDataset, isGpt2HfConfig, pretrainingOptions, splitCorpus } from '@lamina/albert';
import { evaluateGpt2HfDirectory } from '../run/eval-gpt2-hf.js';
import { createMlmEvaluator } from '../pretrainer.js';
import { datasetCacheDir, evalBatches, runCorpus, type DataOptions } from '../run/data.js';
import { loadModelDir } from '../run/load.js';
import { evaluateOn, readRunConfig } from '../run/pretrain.js';
import { type Command, CliError, EXIT, failure, intOption, LIMITS, numOr, optNum, optStr, str, usageError } from './command.js';
import { evaluateInitialised, evaluateTrainRun, type TrainRunEval } from '../run/eval-train.js';
import { TRAIN_DEFAULTS } from '../run/train.js';
import { TRAIN_OPTIONS, trainConfigFromFlags } from './train.js';
import { OBJECTIVE_NAMES } from '../objectives/index.js';
import { isTrainRun } from '../run/train.js';
import { useBackend } from './pretrain.js';
import { evalEngineLine } from '../core/graph-eval.js';

/** `lamina eval`. */
export const evalCmd: Command = {
  name: 'eval',
  summary: "held-out metrics: MLM accuracy/perplexity and sentence-order accuracy, a lamina train run's objective metrics, or a model's as initialised (--model)",
  usage:
    'lamina eval (--checkpoint <run-dir|train-run|hf-dir> | --model <file.ts|file.js|file.json|preset> --objective <objective>) [--corpus <file|dir> | --train … --eval …] [--batch-size B] [--batches N] [--json]',
  options: {
    checkpoint: { type: 'string', arg: 'dir', help: 'a lamina pretraining run, a lamina train run (evaluated on its held-out data), or a Hugging Face ALBERT or GPT-2 directory (GPT-2: clm loss/perplexity on --corpus with its own tokenizer)' },
    model: { type: 'string', arg: 'file.ts|file.js|file.json|preset', help: 'instead of --checkpoint: a model as `lamina train --model` takes it, evaluated as initialised from --seed on the held-out data `lamina train` would use (its baseline)' },
    objective: { ...TRAIN_OPTIONS.objective, help: 'with --model: the objective whose metrics are reported' },
    corpus: { type: 'string', arg: 'file|dir', help: "evaluate on this whole corpus (default: the run's held-out documents); with --model (clm/mlm): the corpus whose held-out split is evaluated (default: the bundled one)" },
    train: { ...TRAIN_OPTIONS.train, help: 'with --model (classify/regress/token-classify): the training data, as `lamina train` reads it (its label set)' },
    eval: { ...TRAIN_OPTIONS.eval, help: 'with --model (classify/regress/token-classify): the held-out data' },
    tokenizer: TRAIN_OPTIONS.tokenizer,
    'batch-size': intOption(`sequences per batch (default: a train run's own; with --model ${TRAIN_DEFAULTS.batchSize}, as lamina train; else 32)`, { min: 1, max: LIMITS.batchSize, arg: 'B' }),
    batches: intOption(`batches to evaluate (default: a train run's own; with --model ${TRAIN_DEFAULTS.evalBatches}, as lamina train; else 16)`, { min: 1, max: LIMITS.evalBatches }),
    'seq-len': intOption(`sequence length (default: the run’s, else ${TRAIN_DEFAULTS.seqLength}; at least 8 for ALBERT pretraining)`, { min: 2, max: LIMITS.seqLength, arg: 'S' }),
    seed: intOption(`seed of masking and pairing, or with --model of the initialisation and the held-out split (default: the run's, else ${TRAIN_DEFAULTS.seed})`, { min: 0, max: LIMITS.seed }),
    'max-documents': { ...TRAIN_OPTIONS['max-documents'], help: `with --model, ${TRAIN_OPTIONS['max-documents'].help}` },
    'eval-fraction': { ...TRAIN_OPTIONS['eval-fraction'], help: `with --model, ${TRAIN_OPTIONS['eval-fraction'].help}` },
    'max-train': { ...TRAIN_OPTIONS['max-train'], help: `with --model, ${TRAIN_OPTIONS['max-train'].help}` },
    'max-eval': { ...TRAIN_OPTIONS['max-eval'], help: `with --model, ${TRAIN_OPTIONS['max-eval'].help}` },
    json: { type: 'boolean', help: 'print one JSON object' },
    backend: { type: 'string', arg: 'name', help: 'tensorflow-gpu|tensorflow|wasm|cpu' },
    eager: { type: 'boolean', help: "evaluate op by op (default: one TensorFlow function per batch shape on the native backend; a train run trained --eager evaluates eager)" },
  },
  examples: [
    'lamina eval --checkpoint runs/demo/pretrain',
    'lamina eval --checkpoint runs/demo/pretrain --corpus my-notes.txt --json',
    'lamina eval --model ~/models/tiny-gpt.ts --objective clm --corpus notes.txt --seed 1',
    'lamina eval --checkpoint packages/albert/test/fixtures/bpe/gpt2-tiny --corpus notes.txt --seq-len 32',
  ],
  async run(v) {
    const O = evalCmd.options;
    const modelArg = optStr(v, 'model');
    if (modelArg !== undefined) return evalInitialised(v, modelArg);
    for (const k of ['objective', 'train', 'eval', 'tokenizer', 'max-documents', 'eval-fraction', 'max-train', 'max-eval'])
      if (v[k] !== undefined) throw usageError(`--${k} goes with --model (a checkpoint brings its own)`);
    const dir = str(v, 'checkpoint', 'eval');
    const batchSize = numOr(O, v, 'batch-size', 32);
    const nBatches = numOr(O, v, 'batches', 16);
    if (isTrainRun(dir)) {
      // a lamina train run: its objective's metrics on its own held-out data (no optimizer)
      if (optStr(v, 'corpus')) throw usageError('--corpus is for pretraining runs and Hugging Face directories; a lamina train run is evaluated on its own held-out data');
      const r = await evaluateTrainRun(dir, {
        batchSize: optNum(O, v, 'batch-size'),
        batches: optNum(O, v, 'batches'),
        beforeCompute: () => useBackend(v),
        ...(v.eager === true ? { engine: 'eager' as const } : {}),
        onEngine: (e) => console.error(evalEngineLine(e)),
        onNotice: (line) => console.error(`lamina eval: ${line}`),
      });
      if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
      if (v.json === true) console.log(JSON.stringify({ checkpoint: dir, step: r.right.step, objective: r.right.objective, batches: r.right.batches, ...r.right.metrics }));
      else console.log(`${dir} (step ${r.right.step}, ${r.right.objective}), ${r.right.batches} held-out batches: ${metricsLine(r.right)}`);
      return EXIT.ok;
    }
    if (isGpt2HfConfig(configJsonOf(dir))) return evalGpt2Hf(v, dir);
    const m = await loadModelDir(dir, { note: (msg) => console.error(`lamina eval: ${msg}`) });
    if (E.isLeft(m)) throw usageError(m.left);
    const run = m.right.kind === 'lamina-run' ? readRunConfig(dir) : undefined;
    const runData = run && E.isRight(run) ? run.right.data : undefined;
    const seqLength = numOr(O, v, 'seq-len', runData?.seqLength ?? 128);
    if (seqLength < 8) throw usageError(`--seq-len must be an integer >= 8 for ALBERT pretraining, got ${seqLength}`);
    if (seqLength > m.right.config.maxPositionEmbeddings) throw usageError(`--seq-len must be an integer <= ${m.right.config.maxPositionEmbeddings} (the model's maxPositionEmbeddings), got ${seqLength}`);
    const seed = numOr(O, v, 'seed', runData?.seed ?? 12345);
    const corpusPath = optStr(v, 'corpus');
    if (!corpusPath && !runData) throw usageError('--corpus is needed for a Hugging Face directory (it has no held-out split of its own)');
    const data: DataOptions = {
      corpus: corpusPath ?? runData?.corpus,
      tokenizer: undefined,
      maxDocuments: corpusPath ? 0 : (runData?.maxDocuments ?? 0),
      seqLength,
      maxPredictions: corpusPath || !runData ? Math.max(1, Math.ceil(0.15 * seqLength)) : runData.maxPredictions,
      objective: m.right.objective,
      dupeFactor: 1,
      evalFraction: runData?.evalFraction ?? 0.05,
      seed,
    };
    const corpus = runCorpus(data.corpus, data.maxDocuments);
    if (E.isLeft(corpus)) throw usageError(corpus.left);
    const opts = pretrainingOptions({ maxSeqLength: seqLength, maxPredictionsPerSeq: data.maxPredictions, task: data.objective === 'nsp' ? 'nsp' : 'sop', seed });
    if (E.isLeft(opts)) throw usageError(opts.left.message);
    const evalCorpus = corpusPath ? corpus.right : splitCorpus(corpus.right, { evalFraction: data.evalFraction, seed }).eval;
    // caches go to the cache directory: eval never writes into the run it reads
    const ds = buildPretrainingDataset({ corpus: evalCorpus, tokenizer: m.right.tokenizer, options: opts.right, cacheDir: datasetCacheDir() });
    if (E.isLeft(ds)) throw usageError(ds.left.message);
    if (ds.right.size === 0) throw usageError('the evaluation corpus gives no instances (too short?)');
    const batches = evalBatches({ tokenizer: m.right.tokenizer, train: ds.right, eval: ds.right, corpusName: evalCorpus.name }, data, batchSize, nBatches);
    await useBackend(v);
    const engine = v.eager === true ? 'eager' : 'graph';
    const t = createMlmEvaluator(m.right.config, m.right.objective, m.right.params, { engine, onNotice: (line) => console.error(`lamina eval: ${line}`) });
    if (E.isLeft(t)) throw failure(t.left.message);
    console.error(evalEngineLine(engine));
    const r = await evaluateOn(t.right, batches);
    t.right.dispose();
    ds.right.close();
    const sequences = batches.reduce((a, b) => a + b.batchSize, 0);
    if (v.json === true) console.log(JSON.stringify({ checkpoint: dir, step: m.right.step ?? null, corpus: evalCorpus.name, sequences, ...r }));
    else
      console.log(
        `${evalCorpus.name}, ${sequences} sequences: MLM accuracy ${(100 * r.mlmAccuracy).toFixed(2)}%, perplexity ${r.perplexity.toFixed(2)}` +
          (r.orderAccuracy === undefined ? '' : `, ${m.right.objective.toUpperCase()} accuracy ${(100 * r.orderAccuracy).toFixed(2)}%`),
      );
    return EXIT.ok;
  },
};

const configJsonOf = (dir: string): unknown => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  } catch {
    return undefined;
  }
};

/** `lamina eval --checkpoint <hf-gpt2-dir> --corpus …`: clm metrics with the directory's tokenizer. */
const evalGpt2Hf = async (v: Record<string, unknown>, dir: string): Promise<number> => {
  const O = evalCmd.options;
  const corpus = optStr(v, 'corpus');
  if (corpus === undefined) throw usageError('--corpus is needed for a Hugging Face directory (it has no held-out split of its own)');
  const seqLength = optNum(O, v, 'seq-len');
  const batchSize = optNum(O, v, 'batch-size');
  const batches = optNum(O, v, 'batches');
  const r = await evaluateGpt2HfDirectory(dir, {
    corpus,
    ...(seqLength === undefined ? {} : { seqLength }),
    batchSize: batchSize ?? 32,
    batches: batches ?? 16,
    ...(v.eager === true ? { engine: 'eager' as const } : {}),
    beforeCompute: () => useBackend(v),
    onEngine: (e) => console.error(evalEngineLine(e)),
    onNotice: (line) => console.error(`lamina eval: ${line}`),
  });
  if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
  const x = r.right;
  if (v.json === true) console.log(JSON.stringify({ checkpoint: dir, objective: 'clm', corpus, windows: x.windows, tokens: x.tokens, seqLength: x.seqLength, ...x.metrics }));
  else console.log(`${dir} (GPT-2, clm) on ${corpus}, ${x.windows} windows of ${x.seqLength} tokens: ${metricsLine({ step: 0, objective: 'clm', batches: 0, metrics: x.metrics, engine: x.engine })}`);
  return EXIT.ok;
};

/** The metrics of a train-run-style evaluation as one line. */
const metricsLine = (r: TrainRunEval): string => Object.entries(r.metrics).map(([k, x]) => (k.includes('accuracy') ? `${k} ${(100 * x).toFixed(2)}%` : `${k} ${x.toPrecision(4)}`)).join(', ');

/** `lamina eval --model`: the model as initialised, through the same eval as a train run's. */
const evalInitialised = async (v: Record<string, unknown>, modelArg: string): Promise<number> => {
  if (optStr(v, 'checkpoint') !== undefined) throw usageError('pass --checkpoint (trained weights) or --model (a model as initialised), not both');
  const objective = optStr(v, 'objective');
  if (objective === undefined) throw usageError(`--model needs --objective (${OBJECTIVE_NAMES.join(', ')})`);
  // lamina train's own flag names and defaults: the config a train run with these flags would hold
  const cfg = await trainConfigFromFlags({ ...v, 'eval-batches': v.batches });
  const r = await evaluateInitialised(cfg, {
    beforeCompute: () => useBackend(v),
    ...(v.eager === true ? { engine: 'eager' as const } : {}),
    onEngine: (e) => console.error(evalEngineLine(e)),
    onNotice: (line) => console.error(`lamina eval: ${line}`),
  });
  if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
  if (v.json === true) console.log(JSON.stringify({ model: modelArg, objective: r.right.objective, seed: cfg.seed, initialised: true, batches: r.right.batches, ...r.right.metrics }));
  else console.log(`${modelArg} as initialised (seed ${cfg.seed}, ${r.right.objective}), ${r.right.batches} held-out batches: ${metricsLine(r.right)}`);
  return EXIT.ok;
};
