/**
 * Corpus → tokenized documents → instances → on-disk cache, in one streaming pass, reused when the
 * same corpus, vocabulary and options ask for it again.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import path from 'node:path';
import type { Tokenizer } from '../tokenizer/index.js';
import { openDatasetCache, writeDatasetCache, type CachedDataset } from './cache.js';
import type { Corpus } from './corpus.js';
import type { DataError } from './errors.js';
import { pretrainingInstances, tokenizeCorpus, type PretrainingOptions } from './instances.js';
import { hashString } from './prng.js';

/**
 * A stable identifier of a tokenizer's vocabulary (pieces and special ids), for cache keys.
 * @example
 * tokenizerFingerprint(tok); // e.g. 'spiece.model:10000:5f2c81aa'
 */
export const tokenizerFingerprint = (t: Tokenizer): string => {
  let h = 0;
  for (let i = 0; i < t.vocabSize; i++) h = hashString(t.idToPiece(i) ?? '', h);
  return `${t.format}:${t.vocabSize}:${h.toString(16).padStart(8, '0')}`;
};

/**
 * The cache key of a dataset: corpus fingerprint, tokenizer fingerprint and every option.
 * @example
 * datasetKey(corpus, tok, options); // a 16-hex-digit string
 */
export const datasetKey = (corpus: Corpus, t: Tokenizer, o: PretrainingOptions): string => {
  // v 2: NSP instances changed (balanced labels, length-matched negatives); SOP ones did not
  const s = JSON.stringify({ corpus: corpus.fingerprint, tokenizer: tokenizerFingerprint(t), o, v: o.task === 'nsp' ? 2 : 1 });
  return hashString(s, 1).toString(16).padStart(8, '0') + hashString(s, 2).toString(16).padStart(8, '0');
};

/**
 * Opens the cached dataset for (corpus, tokenizer, options) under `cacheDir`, building it first when
 * it is missing or stale. Building streams: memory stays at one shard.
 * @example
 * const ds = buildPretrainingDataset({ corpus: train, tokenizer: tok, options, cacheDir: 'runs/data' });
 * if (E.isRight(ds)) console.log(ds.right.size, 'instances');
 */
export const buildPretrainingDataset = (a: {
  readonly corpus: Corpus;
  readonly tokenizer: Tokenizer;
  readonly options: PretrainingOptions;
  readonly cacheDir: string;
}): E.Either<DataError, CachedDataset & { readonly built: boolean }> => {
  const key = datasetKey(a.corpus, a.tokenizer, a.options);
  const file = path.join(a.cacheDir, `pretrain-${key}.lpt`);
  const cached = openDatasetCache(file, key);
  if (E.isRight(cached)) return E.right({ ...cached.right, built: false });
  const written = writeDatasetCache(
    file,
    { key, seqLength: a.options.maxSeqLength, maxPredictions: a.options.maxPredictionsPerSeq, meta: { corpus: a.corpus.name, tokenizer: a.tokenizer.source, options: a.options } },
    pretrainingInstances(tokenizeCorpus(a.corpus, a.tokenizer), a.tokenizer, a.options),
  );
  if (E.isLeft(written)) return written;
  return E.map((d: CachedDataset) => ({ ...d, built: true }))(openDatasetCache(file, key));
};
