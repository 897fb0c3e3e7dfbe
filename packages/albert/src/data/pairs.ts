/**
 * Held-out sentence pairs for evaluating a sentence-level head the way the ALBERT paper does
 * (Table 5): every model is scored on both kinds of pair, whatever it was trained on.
 *
 * - **SOP pairs**: two adjacent segments A, B of one document, in their original order (label 0)
 *   or swapped (label 1). Both labels hold exactly the same tokens; only the order differs.
 * - **NSP pairs**: segment A followed by its real continuation B (label 0), or by a segment of
 *   exactly B's length from another document (label 1), built the way B is.
 *
 * Nothing but order (SOP) or provenance (NSP) should tell the labels apart, so A and B are built
 * by one mirror-symmetric rule. Each of them gets half the budget, `h = ⌊(maxSeqLength − 3) / 2⌋`
 * tokens. At a sentence boundary of the document, A is the whole sentences just before it that fit
 * in `h` tokens, B the whole sentences just after it that fit; a side whose nearest sentence alone
 * is longer than `h` is instead `h` consecutive tokens of that sentence at a uniformly random
 * offset. So in both orders, and for real and random continuations alike, the token before each
 * [SEP] is a sentence end, and the token after [CLS] or [SEP] a sentence start, equally often, and
 * segment lengths have the same distribution: a junction or length cue (trimming only A's start
 * and B's end, as this module used to, made the original order readable off the punctuation
 * before the middle [SEP]) is gone. The price: a cut sentence breaks the contiguity of A and B
 * (A's end and B's start are then a few tokens apart), and at most `2h` of the budget is used.
 * NSP negatives start at a sentence start other than a document's first (as B does) and have
 * B's length exactly whenever another document has such a segment (else B's length cut from a
 * longer sentence). Up to `maxPairsPerDocument` boundaries per document are drawn at random, no
 * two pairs sharing a sentence. Labels are exactly balanced within each kind (a constant guess
 * scores 50%). Everything is a function of `seed`.
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

/** A run of whole sentences of one document, `[from, to)`, or (`crop`) one sentence too long for the budget. */
interface Span {
  readonly from: number;
  readonly to: number;
  readonly crop: boolean;
}

/**
 * The sentences before boundary `j` (backwards) or from it (forwards) that fit in `h` tokens, at
 * least one: if the nearest sentence alone is longer than `h`, the span is that sentence, to be
 * cut to `h` tokens ({@link tokensOf}).
 */
const spanAt = (ss: readonly Int32Array[], j: number, h: number, forward: boolean): Span => {
  let n = 0;
  let k = 0;
  if (forward) {
    while (j + k < ss.length && n + (ss[j + k] as Int32Array).length <= h) n += (ss[j + k++] as Int32Array).length;
    return k === 0 ? { from: j, to: j + 1, crop: true } : { from: j, to: j + k, crop: false };
  }
  while (j - k - 1 >= 0 && n + (ss[j - k - 1] as Int32Array).length <= h) n += (ss[j - k++ - 1] as Int32Array).length;
  return k === 0 ? { from: j - 1, to: j, crop: true } : { from: j - k, to: j, crop: false };
};

/** Length of a span's segment at budget `h`. */
const spanLength = (ss: readonly Int32Array[], s: Span, h: number): number => {
  if (s.crop) return h;
  let n = 0;
  for (let i = s.from; i < s.to; i++) n += (ss[i] as Int32Array).length;
  return n;
};

/** `n` consecutive tokens of `s` starting at a uniformly random offset (both ends are treated alike). */
const cut = (s: Int32Array, n: number, r: Rng): number[] => {
  const at = r.int(0, s.length - n);
  return Array.from(s.subarray(at, at + n));
};

/** A span's tokens: its whole sentences, or `h` tokens cut from its one long sentence. */
const tokensOf = (ss: readonly Int32Array[], s: Span, h: number, r: Rng): number[] => {
  if (s.crop) return cut(ss[s.from] as Int32Array, h, r);
  const out: number[] = [];
  for (let i = s.from; i < s.to; i++) for (const v of ss[i] as Int32Array) out.push(v);
  return out;
};

/** `n` labels, exactly ⌊n/2⌋ ones, in a seeded random order. */
const balancedLabels = (n: number, r: Rng): (0 | 1)[] => shuffleInPlace(Array.from({ length: n }, (_, i) => (i % 2) as 0 | 1), r);

/** Up to `perDoc` pairs of one document at random sentence boundaries, no two sharing a sentence. */
const anchorsOf = (ss: readonly Int32Array[], doc: number, h: number, perDoc: number, r: Rng): Anchor[] => {
  const boundaries = shuffleInPlace(Array.from({ length: Math.max(0, ss.length - 1) }, (_, i) => i + 1), r);
  const taken: [Span, Span][] = [];
  for (const j of boundaries) {
    if (taken.length >= perDoc) break;
    const a = spanAt(ss, j, h, false);
    const b = spanAt(ss, j, h, true);
    if (taken.every(([a2, b2]) => b.to <= a2.from || a.from >= b2.to)) taken.push([a, b]);
  }
  taken.sort(([x], [y]) => x.from - y.from);
  return taken.map(([a, b]) => ({ doc, a: tokensOf(ss, a, h, r), b: tokensOf(ss, b, h, r) }));
};

/** Where NSP negatives of each length can start: every sentence start but a document's first, by the length of its segment. */
interface NegativePool {
  readonly byLength: Map<number, [number, number][]>;
  /** Every sentence, for cutting a segment of a given length out of a longer one. */
  readonly sentences: [number, number][];
}

const negativePool = (docs: readonly (readonly Int32Array[])[], h: number): NegativePool => {
  const byLength = new Map<number, [number, number][]>();
  const sentences: [number, number][] = [];
  docs.forEach((ss, d) => {
    ss.forEach((_, j) => {
      sentences.push([d, j]);
      if (j === 0) return;
      const n = spanLength(ss, spanAt(ss, j, h, true), h);
      const xs = byLength.get(n);
      if (xs) xs.push([d, j]);
      else byLength.set(n, [[d, j]]);
    });
  });
  return { byLength, sentences };
};

/** A uniformly random element of `xs` that satisfies `ok`, or undefined (a few random tries, then a scan). */
const pick = <T>(xs: readonly T[], ok: (x: T) => boolean, r: Rng): T | undefined => {
  for (let k = 0; k < 16 && xs.length > 0; k++) {
    const x = xs[r.int(0, xs.length - 1)] as T;
    if (ok(x)) return x;
  }
  const good = xs.filter(ok);
  return good.length > 0 ? good[r.int(0, good.length - 1)] : undefined;
};

/**
 * An NSP negative for a true continuation of `length` tokens, from a document other than `doc`:
 * built the way a continuation is (the sentences from a sentence start that fit in `h`, or `h`
 * tokens of one longer sentence) and of exactly the same length; failing that, `length` tokens cut
 * from a longer sentence; failing that (no other document has a sentence that long), the
 * sentences from a random start of another document that fit in `length`.
 */
const negative = (docs: readonly (readonly Int32Array[])[], pool: NegativePool, doc: number, length: number, h: number, r: Rng): [number, number[]] => {
  const other = ([d]: [number, number]) => d !== doc;
  const same = pick(pool.byLength.get(length) ?? [], other, r);
  if (same) {
    const ss = docs[same[0]] as readonly Int32Array[];
    return [same[0], tokensOf(ss, spanAt(ss, same[1], h, true), h, r)];
  }
  const longer = pick(pool.sentences, ([d, j]) => d !== doc && ((docs[d] as readonly Int32Array[])[j] as Int32Array).length > length, r);
  if (longer) return [longer[0], cut((docs[longer[0]] as readonly Int32Array[])[longer[1]] as Int32Array, length, r)];
  const [d, j] = pick(pool.sentences, other, r) as [number, number];
  const ss = docs[d] as readonly Int32Array[];
  return [d, tokensOf(ss, spanAt(ss, j, length, true), length, r)];
};

/**
 * Builds held-out SOP and NSP pairs from tokenized documents (see the module comment). An error
 * value when the options are bad, when no document has two sentences, or when there is only one
 * document to draw NSP negatives from.
 * @example
 * const p = evaluationPairs(docs, { maxSeqLength: 64, seed: 7 });
 * if (E.isRight(p)) p.right.sop.every((x) => x.docA === x.docB); // true
 */
export const evaluationPairs = (docs: readonly TokenizedDocument[], o: PairOptions): E.Either<DataError, EvaluationPairs> => {
  const perDoc = o.maxPairsPerDocument ?? 8;
  if (!Number.isInteger(o.maxSeqLength) || o.maxSeqLength < 5) return E.left(dataError('bad-options', `maxSeqLength must be an integer >= 5, got ${o.maxSeqLength}`));
  if (!Number.isInteger(perDoc) || perDoc < 1) return E.left(dataError('bad-options', `maxPairsPerDocument must be a positive integer, got ${perDoc}`));
  if (o.maxPairs !== undefined && (!Number.isInteger(o.maxPairs) || o.maxPairs < 1)) return E.left(dataError('bad-options', `maxPairs must be a positive integer, got ${o.maxPairs}`));
  const h = Math.floor((o.maxSeqLength - 3) / 2);
  const r = rng(o.seed, 0x9a126);
  const sentences = docs.map((d) => d.sentences.filter((s) => s.length > 0));
  let anchors: Anchor[] = [];
  sentences.forEach((ss, i) => anchors.push(...anchorsOf(ss, i, h, perDoc, r)));
  if (anchors.length === 0) return E.left(dataError('empty-corpus', 'no document has two sentences to make an evaluation pair from'));
  if (sentences.filter((ss) => ss.length > 0).length < 2) return E.left(dataError('empty-corpus', 'next-sentence pairs need at least two documents (negatives come from another document)'));
  if (o.maxPairs !== undefined && anchors.length > o.maxPairs) anchors = shuffleInPlace(anchors, r).slice(0, o.maxPairs);
  const sopLabels = balancedLabels(anchors.length, r);
  const nspLabels = balancedLabels(anchors.length, r);
  const pool = negativePool(sentences, h);
  const sop: SentencePair[] = [];
  const nsp: SentencePair[] = [];
  anchors.forEach(({ doc, a, b }, k) => {
    const s = sopLabels[k] as 0 | 1;
    sop.push({ kind: 'sop', a: Int32Array.from(s ? b : a), b: Int32Array.from(s ? a : b), label: s, docA: doc, docB: doc });
    if (nspLabels[k] === 0) nsp.push({ kind: 'nsp', a: Int32Array.from(a), b: Int32Array.from(b), label: 0, docA: doc, docB: doc });
    else {
      const [j, b2] = negative(sentences, pool, doc, b.length, h, r);
      nsp.push({ kind: 'nsp', a: Int32Array.from(a), b: Int32Array.from(b2), label: 1, docA: doc, docB: j });
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
