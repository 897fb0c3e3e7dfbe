/**
 * `lamina eval`: held-out MLM accuracy/perplexity and sentence-order accuracy of a pretrained
 * model (a lamina run or a Hugging Face ALBERT directory).
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { buildPretrainingDataset, pretrainingOptions, splitCorpus } from '@lamina/albert';
import { createMlmEvaluator } from '../pretrainer.js';
import { datasetCacheDir, evalBatches, runCorpus, type DataOptions } from '../run/data.js';
import { loadModelDir } from '../run/load.js';
import { evaluateOn, readRunConfig } from '../run/pretrain.js';
import { type Command, CliError, EXIT, failure, intOption, LIMITS, numOr, optNum, optStr, str, usageError } from './command.js';
import { evaluateTrainRun } from '../run/eval-train.js';
import { isTrainRun } from '../run/train.js';
import { useBackend } from './pretrain.js';

/** `lamina eval`. */
export const evalCmd: Command = {
  name: 'eval',
  summary: 'held-out metrics: MLM accuracy/perplexity and sentence-order accuracy, or a lamina train run\'s objective metrics',
  usage: 'lamina eval --checkpoint <run-dir|train-run|hf-dir> [--corpus <file|dir>] [--batch-size B] [--batches N] [--json]',
  options: {
    checkpoint: { type: 'string', arg: 'dir', help: 'a lamina pretraining run, a lamina train run (evaluated on its held-out data), or a Hugging Face ALBERT directory' },
    corpus: { type: 'string', arg: 'file|dir', help: "evaluate on this whole corpus (default: the run's held-out documents)" },
    'batch-size': intOption('sequences per batch', { min: 1, max: LIMITS.batchSize, default: 32, arg: 'B' }),
    batches: intOption('batches to evaluate', { min: 1, max: LIMITS.evalBatches, default: 16 }),
    'seq-len': intOption('sequence length (default: the run’s, else 128)', { min: 8, max: LIMITS.seqLength, arg: 'S' }),
    seed: intOption('seed of masking and pairing', { min: 0, max: LIMITS.seed, default: 12345 }),
    json: { type: 'boolean', help: 'print one JSON object' },
    backend: { type: 'string', arg: 'name', help: 'tensorflow-gpu|tensorflow|wasm|cpu' },
  },
  examples: ['lamina eval --checkpoint runs/demo/pretrain', 'lamina eval --checkpoint runs/demo/pretrain --corpus my-notes.txt --json'],
  async run(v) {
    const O = evalCmd.options;
    const dir = str(v, 'checkpoint', 'eval');
    const batchSize = numOr(O, v, 'batch-size');
    const nBatches = numOr(O, v, 'batches');
    if (isTrainRun(dir)) {
      // a lamina train run: its objective's metrics on its own held-out data (no optimizer)
      if (optStr(v, 'corpus')) throw usageError('--corpus is for pretraining runs and Hugging Face directories; a lamina train run is evaluated on its own held-out data');
      const r = await evaluateTrainRun(dir, { batchSize: optNum(O, v, 'batch-size'), batches: optNum(O, v, 'batches'), beforeCompute: () => useBackend(v) });
      if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
      if (v.json === true) console.log(JSON.stringify({ checkpoint: dir, step: r.right.step, objective: r.right.objective, batches: r.right.batches, ...r.right.metrics }));
      else console.log(`${dir} (step ${r.right.step}, ${r.right.objective}), ${r.right.batches} held-out batches: ${Object.entries(r.right.metrics).map(([k, x]) => (k.includes('accuracy') ? `${k} ${(100 * x).toFixed(2)}%` : `${k} ${x.toPrecision(4)}`)).join(', ')}`);
      return EXIT.ok;
    }
    const m = await loadModelDir(dir, { note: (msg) => console.error(`lamina eval: ${msg}`) });
    if (E.isLeft(m)) throw usageError(m.left);
    const run = m.right.kind === 'lamina-run' ? readRunConfig(dir) : undefined;
    const runData = run && E.isRight(run) ? run.right.data : undefined;
    const seqLength = numOr(O, v, 'seq-len', runData?.seqLength ?? 128);
    if (seqLength > m.right.config.maxPositionEmbeddings) throw usageError(`--seq-len must be an integer <= ${m.right.config.maxPositionEmbeddings} (the model's maxPositionEmbeddings), got ${seqLength}`);
    const seed = numOr(O, v, 'seed', runData?.seed);
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
    const t = createMlmEvaluator(m.right.config, m.right.objective, m.right.params);
    if (E.isLeft(t)) throw failure(t.left.message);
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
