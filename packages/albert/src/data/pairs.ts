/**
 * Held-out sentence pairs for evaluating a sentence-level head the way the ALBERT paper does
 * (Table 5): every model is scored on both kinds of pair, whatever it was trained on.
 *
 * - **SOP pairs**: two consecutive segments A, B of one document, in their original order
 *   (label 0) or swapped (label 1). Both labels hold exactly the same tokens; only the order
 *   differs, so nothing but order can tell them apart.
 * - **NSP pairs**: segment A followed by its real continuation B (label 0), or by a segment of the
 *   same length taken from another document (label 1), starting at a sentence start like B does,
 *   so length and sentence boundaries give nothing away.
 *
 * Segments are cut at sentence boundaries only (a chunk of fewer than two sentences gives no
 * pair), so a swapped pair cannot be spotted by a segment that starts mid-sentence. Labels are
 * exactly balanced within each kind (a constant guess scores 50%). When a pair is too long, A
 * loses tokens from its start and B from its end, so the A|B junction the heads judge is kept.
 * Everything is a function of `seed`.
 *
 * @example
 * ```ts
 * const p = evaluationPairs(heldOutDocs, { maxSeqLength: 64, seed: 1 });
 * if (E.isRight(p)) {
 *   const xs = pairInstances(p.right.sop, tokenizer, { maskedLmProb: 0.15, maxPredictionsPerSeq: 10, maxNgram: 3 }, 1);
 *   const batch = collate(xs.slice(0, 32), { seqLength: 64, maxPredictions: 10, padId: tokenizer.special.pad });
 * }
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { dataError, type DataError } from './errors.js';
import type { Instance, InstanceVocab, TokenizedDocument } from './instances.js';
import { maskSequence, type MaskingOptions } from './masking.js';
import { rng, shuffleInPlace, type Rng } from './prng.js';

/**
 * One evaluation pair: the two segments as the model sees them (`[CLS] a [SEP] b [SEP]`) and where
 * they came from.
 * @example
 * const p: SentencePair = { kind: 'sop', a: Int32Array.of(7, 8), b: Int32Array.of(5, 6), label: 1, docA: 0, docB: 0 };
 */
export interface SentencePair {
  readonly kind: 'sop' | 'nsp';
  readonly a: Int32Array;
  readonly b: Int32Array;
  /** SOP: 1 when the segments are swapped; NSP: 1 when `b` comes from another document. */
  readonly label: 0 | 1;
  /** Index in the input documents of the document `a` (and `b`) came from. */
  readonly docA: number;
  readonly docB: number;
}

/**
 * Both kinds of pair, built from the same anchors (the same A segments).
 * @example
 * const { sop, nsp } = unwrapPairs(evaluationPairs(docs, { maxSeqLength: 64, seed: 1 }));
 */
export interface EvaluationPairs {
  readonly sop: readonly SentencePair[];
  readonly nsp: readonly SentencePair[];
}

/**
 * Options of {@link evaluationPairs}.
 * @example
 * const o: PairOptions = { maxSeqLength: 128, seed: 12345, maxPairsPerDocument: 8 };
 */
export interface PairOptions {
  /** Tokens per sequence including `[CLS]` and two `[SEP]` (≥ 5). */
  readonly maxSeqLength: number;
  readonly seed: number;
  /** At most this many pairs per document (chosen at random), so long documents do not dominate (default 8). */
  readonly maxPairsPerDocument?: number;
  /** At most this many pairs of each kind in all (default: no limit). */
  readonly maxPairs?: number;
}

interface Anchor {
  readonly doc: number;
  readonly a: number[];
  readonly b: number[];
}

const concat = (xs: readonly Int32Array[]): number[] => {
  const out: number[] = [];
  for (const x of xs) for (const v of x) out.push(v);
  return out;
};

/** Trims A from its start and B from its end until they fit in `max` tokens (the junction stays). */
const fit = (a: readonly number[], b: readonly number[], max: number): [number[], number[]] => {
  let lo = 0;
  let hi = b.length;
  while (a.length - lo + hi > max) {
    if (a.length - lo > hi) lo++;
    else hi--;
  }
  return [a.slice(lo), b.slice(0, hi)];
};

/** Chunks of ≥ 2 whole sentences filling `target` tokens, each cut at a random sentence boundary. */
const anchorsOf = (sentences: readonly Int32Array[], doc: number, target: number, r: Rng): Anchor[] => {
  const out: Anchor[] = [];
  let chunk: Int32Array[] = [];
  let length = 0;
  for (let i = 0; i < sentences.length; i++) {
    const s = sentences[i] as Int32Array;
    chunk.push(s);
    length += s.length;
    if (i !== sentences.length - 1 && length < target) continue;
    if (chunk.length >= 2) {
      const cut = r.int(1, chunk.length - 1);
      const a = concat(chunk.slice(0, cut));
      const b = concat(chunk.slice(cut));
      if (a.length > 0 && b.length > 0) out.push({ doc, a, b });
    }
    chunk = [];
    length = 0;
  }
  return out;
};

/** `n` labels, exactly ⌊n/2⌋ ones, in a seeded random order. */
const balancedLabels = (n: number, r: Rng): (0 | 1)[] => shuffleInPlace(Array.from({ length: n }, (_, i) => (i % 2) as 0 | 1), r);

/** A segment of about `length` tokens from document `doc`, starting at a random sentence start. */
const segmentFrom = (sentences: readonly Int32Array[], length: number, r: Rng): number[] => {
  const out: number[] = [];
  for (let j = r.int(0, sentences.length - 1); j < sentences.length && out.length < length; j++) for (const v of sentences[j] as Int32Array) out.push(v);
  return out.slice(0, Math.max(1, length));
};

/**
 * Builds held-out SOP and NSP pairs from tokenized documents (see the module comment). An error
 * value when the options are bad, when no document has two sentences in a chunk, or when there is
 * only one document to draw NSP negatives from.
 * @example
 * const p = evaluationPairs(docs, { maxSeqLength: 64, seed: 7 });
 * if (E.isRight(p)) p.right.sop.every((x) => x.docA === x.docB); // true
 */
export const evaluationPairs = (docs: readonly TokenizedDocument[], o: PairOptions): E.Either<DataError, EvaluationPairs> => {
  const perDoc = o.maxPairsPerDocument ?? 8;
  if (!Number.isInteger(o.maxSeqLength) || o.maxSeqLength < 5) return E.left(dataError('bad-options', `maxSeqLength must be an integer >= 5, got ${o.maxSeqLength}`));
  if (!Number.isInteger(perDoc) || perDoc < 1) return E.left(dataError('bad-options', `maxPairsPerDocument must be a positive integer, got ${perDoc}`));
  if (o.maxPairs !== undefined && (!Number.isInteger(o.maxPairs) || o.maxPairs < 1)) return E.left(dataError('bad-options', `maxPairs must be a positive integer, got ${o.maxPairs}`));
  const maxTokens = o.maxSeqLength - 3;
  const r = rng(o.seed, 0x9a125);
  let anchors: Anchor[] = [];
  docs.forEach((d, i) => {
    const xs = anchorsOf(d.sentences, i, maxTokens, r);
    anchors.push(...(xs.length > perDoc ? shuffleInPlace(xs, r).slice(0, perDoc) : xs));
  });
  if (anchors.length === 0) return E.left(dataError('empty-corpus', 'no document has two sentences to make an evaluation pair from'));
  const withText = docs.map((d, i) => [i, d] as const).filter(([, d]) => d.sentences.some((s) => s.length > 0));
  if (withText.length < 2) return E.left(dataError('empty-corpus', 'next-sentence pairs need at least two documents (negatives come from another document)'));
  if (o.maxPairs !== undefined && anchors.length > o.maxPairs) anchors = shuffleInPlace(anchors, r).slice(0, o.maxPairs);
  const sopLabels = balancedLabels(anchors.length, r);
  const nspLabels = balancedLabels(anchors.length, r);
  const sop: SentencePair[] = [];
  const nsp: SentencePair[] = [];
  anchors.forEach((x, k) => {
    const [a, b] = fit(x.a, x.b, maxTokens);
    const s = sopLabels[k] as 0 | 1;
    sop.push({ kind: 'sop', a: Int32Array.from(s ? b : a), b: Int32Array.from(s ? a : b), label: s, docA: x.doc, docB: x.doc });
    const n = nspLabels[k] as 0 | 1;
    if (n === 0) nsp.push({ kind: 'nsp', a: Int32Array.from(a), b: Int32Array.from(b), label: 0, docA: x.doc, docB: x.doc });
    else {
      const others = withText.filter(([i]) => i !== x.doc);
      const [j, other] = others[r.int(0, others.length - 1)] as (typeof withText)[number];
      const nonEmpty = other.sentences.filter((t) => t.length > 0);
      const [a2, b2] = fit(x.a, segmentFrom(nonEmpty, x.b.length, r), maxTokens);
      nsp.push({ kind: 'nsp', a: Int32Array.from(a2), b: Int32Array.from(b2), label: 1, docA: x.doc, docB: j });
    }
  });
  return E.right({ sop, nsp });
};

/**
 * Lays a pair out as `[CLS] a [SEP] b [SEP]` (token types 0…0 1…1) and masks it for MLM with
 * ALBERT's n-gram masking; the pair's label becomes `sentenceOrderLabel`.
 * @example
 * const x = pairInstance(pair, tokenizer, { maskedLmProb: 0.15, maxPredictionsPerSeq: 10, maxNgram: 3 }, rng(1));
 * x.sentenceOrderLabel === pair.label; // true
 */
export const pairInstance = (p: SentencePair, vocab: InstanceVocab, masking: MaskingOptions, r: Rng): Instance => {
  const tokens = new Int32Array(p.a.length + p.b.length + 3);
  tokens[0] = vocab.special.cls;
  tokens.set(p.a, 1);
  tokens[p.a.length + 1] = vocab.special.sep;
  tokens.set(p.b, p.a.length + 2);
  tokens[tokens.length - 1] = vocab.special.sep;
  const types = new Int32Array(tokens.length).fill(1, p.a.length + 2);
  const m = maskSequence(tokens, vocab, masking, r);
  return { inputIds: m.inputIds, tokenTypeIds: types, maskedLmPositions: m.positions, maskedLmIds: m.labels, sentenceOrderLabel: p.label };
};

/**
 * {@link pairInstance} over a list, pair `i` masked with the stream `rng(seed, i)` (so a pair's mask
 * does not depend on the pairs before it).
 * @example
 * const xs = pairInstances(pairs.sop, tokenizer, { maskedLmProb: 0.15, maxPredictionsPerSeq: 10, maxNgram: 3 }, 12345);
 */
export const pairInstances = (ps: readonly SentencePair[], vocab: InstanceVocab, masking: MaskingOptions, seed: number): Instance[] =>
  ps.map((p, i) => pairInstance(p, vocab, masking, rng(seed, 0x9a1e, i)));
