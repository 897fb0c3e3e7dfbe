/**
 * Data for a pretraining run: tokenizer, corpus (bundled or the user's), held-out split, the
 * cached instance datasets and the batch iterators.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  batchIterator,
  buildPretrainingDataset,
  bundledCorpus,
  corpusFromPath,
  DEFAULT_VOCAB_DIR,
  loadTokenizer,
  pretrainingOptions,
  splitCorpus,
  type Batch,
  type BatchCursor,
  type BatchIterator,
  type CachedDataset,
  type Corpus,
  type Tokenizer,
} from '@lamina/albert';

/** What a run needs to build its data. */
export interface DataOptions {
  /** A text file or directory; undefined: the bundled corpus. */
  readonly corpus: string | undefined;
  /** A tokenizer directory/tokenizer.json/spiece.model; undefined: the committed vocabulary. */
  readonly tokenizer: string | undefined;
  /** Use at most this many documents (0: all). */
  readonly maxDocuments: number;
  readonly seqLength: number;
  readonly maxPredictions: number;
  readonly objective: 'sop' | 'nsp' | 'none';
  readonly dupeFactor: number;
  readonly evalFraction: number;
  readonly seed: number;
}

/** The run's datasets. */
export interface RunData {
  readonly tokenizer: Tokenizer;
  readonly train: CachedDataset & { readonly built: boolean };
  readonly eval: CachedDataset & { readonly built: boolean };
  readonly corpusName: string;
}

/**
 * Where lamina caches tokenized datasets: `$LAMINA_CACHE_DIR`, else `$XDG_CACHE_HOME/lamina`,
 * else `~/.cache/lamina`, with `datasets/` below; the system temp directory when none of these
 * can be written. Never a run directory, so a failed start writes nothing there.
 * @example datasetCacheDir() // '/home/me/.cache/lamina/datasets'
 */
export const datasetCacheDir = (): string => {
  const root = process.env.LAMINA_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'lamina');
  const dir = path.join(root, 'datasets');
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    return path.join(os.tmpdir(), `lamina-cache-${os.userInfo().uid}`, 'datasets');
  }
};

/**
 * Closes a run's datasets.
 * @example closeRunData(data)
 */
export const closeRunData = (d: RunData): void => {
  d.train.close();
  d.eval.close();
};

/** Keeps only the first `n` documents of a corpus (n = 0: all). */
export const limitCorpus = (c: Corpus, n: number): Corpus =>
  n <= 0
    ? c
    : {
        name: `${c.name}[:${n}]`,
        fingerprint: `${c.fingerprint}|first:${n}`,
        documents: function* () {
          let k = 0;
          for (const d of c.documents()) {
            if (k++ >= n) return;
            yield d;
          }
        },
      };

/** Loads the tokenizer (default: the committed vocabulary). */
export const runTokenizer = (p: string | undefined): E.Either<string, Tokenizer> =>
  E.mapLeft((e: { message: string }) => e.message)(loadTokenizer(p ?? DEFAULT_VOCAB_DIR));

/** Loads the corpus (default: the bundled one), limited to `maxDocuments`. */
export const runCorpus = (p: string | undefined, maxDocuments: number): E.Either<string, Corpus> =>
  E.bimap(
    (e: { message: string }) => e.message,
    (c: Corpus) => limitCorpus(c, maxDocuments),
  )(p === undefined ? bundledCorpus() : corpusFromPath(p));

/**
 * Tokenizes the corpus into cached instance datasets under `cacheDir` (reused when the corpus,
 * vocabulary and options are unchanged): whole documents are held out for evaluation.
 */
export const buildRunData = (o: DataOptions, cacheDir: string, log: (m: string) => void): E.Either<string, RunData> => {
  const tok = runTokenizer(o.tokenizer);
  if (E.isLeft(tok)) return tok;
  const corpus = runCorpus(o.corpus, o.maxDocuments);
  if (E.isLeft(corpus)) return corpus;
  const opts = pretrainingOptions({
    maxSeqLength: o.seqLength,
    maxPredictionsPerSeq: o.maxPredictions,
    task: o.objective === 'nsp' ? 'nsp' : 'sop',
    dupeFactor: o.dupeFactor,
    seed: o.seed,
  });
  if (E.isLeft(opts)) return E.left(opts.left.message);
  const split = splitCorpus(corpus.right, { evalFraction: o.evalFraction, seed: o.seed });
  const build = (c: Corpus, what: string) => {
    const t0 = Date.now();
    const r = buildPretrainingDataset({ corpus: c, tokenizer: tok.right, options: opts.right, cacheDir });
    if (E.isRight(r))
      log(
        r.right.built
          ? `built ${what} dataset: ${r.right.size} instances from ${c.name} in ${((Date.now() - t0) / 1000).toFixed(1)}s (cached in ${path.relative(process.cwd(), cacheDir) || cacheDir})`
          : `reusing cached ${what} dataset: ${r.right.size} instances`,
      );
    return E.mapLeft((e: { message: string }) => `${what} data: ${e.message}`)(r);
  };
  const train = build(split.train, 'training');
  if (E.isLeft(train)) return train;
  const held = build(split.eval, 'held-out');
  if (E.isLeft(held)) return held;
  if (held.right.size === 0) return E.left('the held-out split has no instances: use a larger corpus or a larger --eval-fraction');
  return E.right({ tokenizer: tok.right, train: train.right, eval: held.right, corpusName: corpus.right.name });
};

/** The endless, resumable training batch iterator. */
export const trainBatches = (d: RunData, o: DataOptions, batchSize: number, from?: BatchCursor): E.Either<string, BatchIterator> =>
  E.mapLeft((e: { message: string }) => e.message)(
    batchIterator(d.train, { batchSize, seqLength: o.seqLength, maxPredictions: o.maxPredictions, padId: d.tokenizer.special.pad, seed: o.seed }, from),
  );

/** A fixed list of held-out batches (same every evaluation). */
export const evalBatches = (d: RunData, o: DataOptions, batchSize: number, maxBatches: number): Batch[] => {
  const n = Math.max(1, Math.min(maxBatches, Math.floor(d.eval.size / batchSize) || 1));
  const it = batchIterator(d.eval, { batchSize: Math.min(batchSize, d.eval.size), seqLength: o.seqLength, maxPredictions: o.maxPredictions, padId: d.tokenizer.special.pad, seed: o.seed, shuffle: false });
  if (E.isLeft(it)) return [];
  return Array.from({ length: n }, () => it.right.next().value);
};
