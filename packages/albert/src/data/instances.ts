/**
 * Pretraining instances as in Google's ALBERT `create_pretraining_data.py`: for each document,
 * chunks of whole sentences fill a target length of `maxSeqLength − 3` (a random shorter target
 * with probability `shortSeqProb`), are cut at a random sentence into segments A and B, labelled
 * for sentence order (SOP: 0 original, 1 swapped, 50/50) or next sentence (NSP: B from another
 * document with probability ½, see below), truncated (the longer segment loses a token at a random end until
 * they fit) and laid out as `[CLS] A [SEP] B [SEP]` with token types 0…0 1…1; then n-gram masked
 * ({@link maskSequence}).
 *
 * Deliberate differences, all in favour of labels that only the sentence relation can predict:
 * - when a chunk holds a single sentence, the script takes B from a random document whatever the
 *   coin says (an NSP negative, labelled "swapped" in SOP mode); here the sentence is cut at a
 *   random word boundary instead and the coin decides, so SOP and NSP labels are both 50/50 (at
 *   short sequences most chunks are one sentence: with the script's rule 78% of NSP instances on
 *   the bundled corpus at 32 tokens were negatives, and a constant guess scored 78%);
 * - an NSP negative B is not "sentences until the target is reached" but exactly as many tokens as
 *   the true B, ending where a sentence of the other document ends and starting at a word start,
 *   as the true B does, so the [SEP] position and the final punctuation do not give it away
 *   (measured on the bundled corpus at 32 tokens: A 14.1 / 14.1 tokens and final punctuation before
 *   the last [SEP] 29% / 30% for real / random B; the script's rule gave 14.0 / 15.3 tokens).
 * SOP instances are exactly those of the script's rule (unchanged by the above). Note that they
 * keep the script's own length cue at short sequences: B holds the sentence that crosses the
 * target, so the original-order A is on average shorter (13.8 vs 15.1 tokens at 32 tokens).
 *
 * Documents are processed in shards of `shardSize` (NSP negatives come from the same shard), so
 * memory is bounded by one shard's instances whatever the corpus size. Everything is a function of
 * `seed`: the same inputs give the same instances.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Corpus } from './corpus.js';
import { dataError, type DataError } from './errors.js';
import { maskSequence, type MaskingVocab } from './masking.js';
import { rng, shuffleInPlace, type Rng } from './prng.js';

/**
 * A document as token ids, one array per sentence.
 * @example
 * const d: TokenizedDocument = { id: 'd0', sentences: [Int32Array.from(tok.tokenize('Call me Ishmael.'))] };
 */
export interface TokenizedDocument {
  readonly id: string;
  readonly sentences: readonly Int32Array[];
}

/**
 * One pretraining example (unpadded; lengths ≤ `maxSeqLength` and ≤ `maxPredictionsPerSeq`).
 * @example
 * const x: Instance = pretrainingInstances(docs, tok, options).next().value;
 * x.inputIds[0] === tok.special.cls; // true
 */
export interface Instance {
  readonly inputIds: Int32Array;
  readonly tokenTypeIds: Int32Array;
  readonly maskedLmPositions: Int32Array;
  readonly maskedLmIds: Int32Array;
  /** SOP: 1 when A and B were swapped; NSP: 1 when B comes from another document. */
  readonly sentenceOrderLabel: 0 | 1;
}

/**
 * Options of instance creation (defaults: ALBERT's).
 * @example
 * const o = pretrainingOptions({ maxSeqLength: 512, maxPredictionsPerSeq: 20, task: 'sop' });
 */
export interface PretrainingOptions {
  readonly maxSeqLength: number;
  readonly maxPredictionsPerSeq: number;
  readonly maskedLmProb: number;
  readonly shortSeqProb: number;
  readonly maxNgram: number;
  /** `sop` (ALBERT, default) or `nsp` (BERT's next-sentence variant). */
  readonly task: 'sop' | 'nsp';
  /** How many times each document is used, with different random choices. */
  readonly dupeFactor: number;
  /** Documents per shard (memory bound; NSP negatives are drawn within a shard). */
  readonly shardSize: number;
  readonly seed: number;
}

/**
 * ALBERT's defaults with a 128-token sequence.
 * @example
 * const o: PretrainingOptions = { ...DEFAULT_PRETRAINING_OPTIONS, seed: 7 };
 */
export const DEFAULT_PRETRAINING_OPTIONS: PretrainingOptions = {
  maxSeqLength: 128,
  maxPredictionsPerSeq: 20,
  maskedLmProb: 0.15,
  shortSeqProb: 0.1,
  maxNgram: 3,
  task: 'sop',
  dupeFactor: 1,
  shardSize: 256,
  seed: 12345,
};

/**
 * What instance creation needs from a vocabulary (a {@link Tokenizer} satisfies it).
 * @example
 * const v: InstanceVocab = tokenizer; // any Tokenizer is one
 */
export interface InstanceVocab extends MaskingVocab {
  readonly special: { readonly cls: number; readonly sep: number; readonly mask: number };
}

/**
 * Validates options; bad values are an error value naming the field.
 * @example
 * pretrainingOptions({ maxSeqLength: 4 }); // E.left({ kind: 'bad-options', message: 'maxSeqLength must be …' })
 */
export const pretrainingOptions = (o: Partial<PretrainingOptions> = {}): E.Either<DataError, PretrainingOptions> => {
  const r = { ...DEFAULT_PRETRAINING_OPTIONS, ...o };
  const bad = (m: string) => E.left(dataError('bad-options', m));
  const int = (x: number) => Number.isInteger(x);
  if (!int(r.maxSeqLength) || r.maxSeqLength < 5) return bad(`maxSeqLength must be an integer >= 5, got ${r.maxSeqLength}`);
  if (!int(r.maxPredictionsPerSeq) || r.maxPredictionsPerSeq < 1) return bad(`maxPredictionsPerSeq must be an integer >= 1, got ${r.maxPredictionsPerSeq}`);
  if (!(r.maskedLmProb > 0 && r.maskedLmProb < 1)) return bad(`maskedLmProb must be in (0, 1), got ${r.maskedLmProb}`);
  if (!(r.shortSeqProb >= 0 && r.shortSeqProb <= 1)) return bad(`shortSeqProb must be in [0, 1], got ${r.shortSeqProb}`);
  if (!int(r.maxNgram) || r.maxNgram < 1) return bad(`maxNgram must be an integer >= 1, got ${r.maxNgram}`);
  if (r.task !== 'sop' && r.task !== 'nsp') return bad(`task must be sop or nsp, got ${String(r.task)}`);
  if (!int(r.dupeFactor) || r.dupeFactor < 1) return bad(`dupeFactor must be an integer >= 1, got ${r.dupeFactor}`);
  if (!int(r.shardSize) || r.shardSize < 1) return bad(`shardSize must be an integer >= 1, got ${r.shardSize}`);
  if (!int(r.seed)) return bad(`seed must be an integer, got ${r.seed}`);
  return E.right(r);
};

/** Removes tokens from the longer segment (at a random end) until the pair fits. */
/**
 * Google's truncate_seq_pair: drop a token from the front or back (coin flip) of the longer side
 * until the pair fits. Tracked with indices, so a segment of millions of tokens costs O(n), not
 * O(n²) (the same coin flips, the same result as shifting the arrays).
 */
const truncatePair = (a: number[], b: number[], max: number, r: Rng): [number[], number[]] => {
  let [a0, a1, b0, b1] = [0, a.length, 0, b.length];
  while (a1 - a0 + (b1 - b0) > max) {
    const longerA = a1 - a0 > b1 - b0;
    if (r.next() < 0.5) {
      if (longerA) a0++;
      else b0++;
    } else if (longerA) a1--;
    else b1--;
  }
  return [a0 === 0 && a1 === a.length ? a : a.slice(a0, a1), b0 === 0 && b1 === b.length ? b : b.slice(b0, b1)];
};

const concat = (xs: readonly Int32Array[]): number[] => {
  const out: number[] = [];
  for (const x of xs) for (const v of x) out.push(v);
  return out;
};

/**
 * An NSP negative: `length` tokens of a document other than `index` that end where one of its
 * sentences ends, moved forward to start at a word start (so at most a word shorter); fewer when
 * the document has fewer tokens before that sentence end.
 */
const randomSegment = (docs: readonly TokenizedDocument[], index: number, length: number, vocab: InstanceVocab, r: Rng): number[] => {
  let other = index;
  for (let k = 0; k < 10 && other === index; k++) other = r.int(0, docs.length - 1);
  const rd = docs[other]?.sentences ?? [];
  if (rd.length === 0) return [];
  const parts: Int32Array[] = [];
  let n = 0;
  for (let j = r.int(0, rd.length - 1); j >= 0 && n < length; j--) {
    parts.unshift(rd[j] as Int32Array);
    n += (rd[j] as Int32Array).length;
  }
  const xs = concat(parts).slice(Math.max(0, n - length));
  let start = 0;
  while (start < xs.length - 1 && !vocab.isWordStart(xs[start] as number)) start++;
  return vocab.isWordStart(xs[start] as number) ? xs.slice(start) : xs;
};

/**
 * The instances of one document (`docs[index]`), with `docs` as the pool for NSP negatives.
 * @example
 * const xs = instancesFromDocument(shard, 0, tokenizer, options, rng(1));
 */
export const instancesFromDocument = (
  docs: readonly TokenizedDocument[],
  index: number,
  vocab: InstanceVocab,
  o: PretrainingOptions,
  r: Rng,
): Instance[] => {
  const doc = docs[index]?.sentences ?? [];
  const maxTokens = o.maxSeqLength - 3;
  const target = r.next() < o.shortSeqProb ? r.int(2, maxTokens) : maxTokens;
  const out: Instance[] = [];
  let chunk: Int32Array[] = [];
  let length = 0;
  for (let i = 0; i < doc.length; i++) {
    const seg = doc[i] as Int32Array;
    chunk.push(seg);
    length += seg.length;
    if (i !== doc.length - 1 && length < target) continue;
    let a: number[];
    let b: number[];
    let label: 0 | 1 = 0;
    const aEnd = chunk.length >= 2 ? r.int(1, chunk.length - 1) : 1;
    if (chunk.length === 1) {
      // one sentence: cut it at a random word boundary so that both halves are non-empty
      const s = concat(chunk);
      const cuts: number[] = [];
      for (let k = 1; k < s.length; k++) if (vocab.isWordStart(s[k] as number)) cuts.push(k);
      const cut = cuts.length > 0 ? (cuts[r.int(0, cuts.length - 1)] as number) : s.length >= 2 ? r.int(1, s.length - 1) : 0;
      a = s.slice(0, cut);
      b = s.slice(cut);
    } else {
      a = concat(chunk.slice(0, aEnd));
      b = concat(chunk.slice(aEnd));
    }
    if (o.task === 'sop' && r.next() < 0.5) {
      label = 1;
      [a, b] = [b, a];
    } else if (o.task === 'nsp' && docs.length > 1 && r.next() < 0.5) {
      // a random segment of another document with the true B's length, ending at a sentence end
      // and starting at a word start, as B does, so neither length nor the ends give it away
      label = 1;
      b = randomSegment(docs, index, b.length, vocab, r);
      if (chunk.length >= 2) i -= chunk.length - aEnd; // the unused sentences are put back
    }
    chunk = [];
    length = 0;
    [a, b] = truncatePair(a, b, maxTokens, r);
    if (a.length === 0 || b.length === 0) continue;
    const tokens = new Int32Array(a.length + b.length + 3);
    const types = new Int32Array(tokens.length);
    tokens[0] = vocab.special.cls;
    tokens.set(a, 1);
    tokens[a.length + 1] = vocab.special.sep;
    tokens.set(b, a.length + 2);
    tokens[tokens.length - 1] = vocab.special.sep;
    types.fill(1, a.length + 2);
    const m = maskSequence(tokens, vocab, o, r);
    out.push({ inputIds: m.inputIds, tokenTypeIds: types, maskedLmPositions: m.positions, maskedLmIds: m.labels, sentenceOrderLabel: label });
  }
  return out;
};

/**
 * Streams instances from a stream of tokenized documents, shard by shard (each shard's instances
 * shuffled), `dupeFactor` passes per shard. Deterministic for `o.seed`.
 * @example
 * for (const inst of pretrainingInstances(tokenizeCorpus(corpus, tok), tok, options)) use(inst);
 */
export function* pretrainingInstances(
  docs: Iterable<TokenizedDocument>,
  vocab: InstanceVocab,
  o: PretrainingOptions,
): Generator<Instance> {
  let shard: TokenizedDocument[] = [];
  let shardIndex = 0;
  const flush = function* (): Generator<Instance> {
    for (let d = 0; d < o.dupeFactor; d++) {
      const r = rng(o.seed, shardIndex, d);
      const xs: Instance[] = [];
      for (let i = 0; i < shard.length; i++) for (const x of instancesFromDocument(shard, i, vocab, o, r)) xs.push(x);
      yield* shuffleInPlace(xs, r);
    }
    shard = [];
    shardIndex++;
  };
  for (const doc of docs) {
    if (doc.sentences.length === 0) continue;
    shard.push(doc);
    if (shard.length >= o.shardSize) yield* flush();
  }
  if (shard.length > 0) yield* flush();
}

/**
 * Something that turns text into piece ids (a {@link Tokenizer} is one).
 * @example
 * const t: TextTokenizer = { tokenize: (s) => [...s].map((c) => c.charCodeAt(0)) }; // a toy character tokenizer
 */
export interface TextTokenizer {
  readonly tokenize: (text: string) => number[];
}

/**
 * Streams a corpus as tokenized documents (empty sentences dropped).
 * @example
 * for (const d of tokenizeCorpus(corpus, tokenizer)) console.log(d.id, d.sentences.length);
 */
export function* tokenizeCorpus(corpus: Corpus, tok: TextTokenizer): Generator<TokenizedDocument> {
  for (const d of corpus.documents()) {
    const sentences: Int32Array[] = [];
    for (const s of d.sentences) {
      const ids = tok.tokenize(s);
      if (ids.length > 0) sentences.push(Int32Array.from(ids));
    }
    if (sentences.length > 0) yield { id: d.id, sentences };
  }
}
