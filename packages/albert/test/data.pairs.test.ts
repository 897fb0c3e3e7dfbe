// Held-out SOP/NSP evaluation pairs (the ALBERT paper's Table 5 evaluation), on tiny synthetic
// documents whose token ids say where they come from: document i's t-th token is 5 + 1000·i + t,
// so a segment's document and contiguity can be read off its tokens, independently of the
// metadata the builder reports.
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { evaluationPairs, pairInstance, pairInstances, rng, type EvaluationPairs, type InstanceVocab, type PairOptions, type SentencePair, type TokenizedDocument } from '../src/data/index.js';

const STRIDE = 1000;
const docOf = (t: number): number => Math.floor((t - 5) / STRIDE);
const synthetic = (lengths: readonly (readonly number[])[]): TokenizedDocument[] =>
  lengths.map((ls, i) => {
    let t = 0;
    return { id: `d${i}`, sentences: ls.map((n) => Int32Array.from({ length: n }, () => 5 + STRIDE * i + t++)) };
  });
/** Sentence starts of document i, as token ids. */
const starts = (d: TokenizedDocument): Set<number> => new Set(d.sentences.filter((s) => s.length > 0).map((s) => s[0] as number));
const contiguous = (xs: readonly number[]): boolean => xs.every((x, k) => k === 0 || x === (xs[k - 1] as number) + 1);
const cat = (p: SentencePair, swap = false): number[] => (swap ? [...p.b, ...p.a] : [...p.a, ...p.b]);

const docsArb = fc.array(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 10 }), { minLength: 2, maxLength: 7 }).map(synthetic);
const optsArb = fc.record({ maxSeqLength: fc.integer({ min: 5, max: 48 }), seed: fc.integer({ min: 0, max: 10_000 }), maxPairsPerDocument: fc.integer({ min: 1, max: 5 }) });

const build = (ds: TokenizedDocument[], o: PairOptions): EvaluationPairs | undefined => {
  const r = evaluationPairs(ds, o);
  return E.isRight(r) ? r.right : undefined;
};

describe('evaluation pairs (properties)', () => {
  test.prop([docsArb, optsArb], { numRuns: 200 })('a shuffled-order (SOP) pair is always from one document; swapping back gives contiguous text', (ds, o) => {
    const p = build(ds, o);
    if (!p) return;
    for (const x of p.sop) {
      expect(x.docA).toBe(x.docB);
      for (const t of [...x.a, ...x.b]) expect(docOf(t)).toBe(x.docA);
      expect(contiguous(cat(x, x.label === 1))).toBe(true);
    }
  });

  test.prop([docsArb, optsArb], { numRuns: 200 })('a random (NSP negative) pair never is from one document; a positive is the real continuation', (ds, o) => {
    const p = build(ds, o);
    if (!p) return;
    for (const x of p.nsp) {
      for (const t of x.a) expect(docOf(t)).toBe(x.docA);
      for (const t of x.b) expect(docOf(t)).toBe(x.docB);
      if (x.label === 1) {
        expect(x.docB).not.toBe(x.docA);
        expect(contiguous([...x.b])).toBe(true);
        // B starts where a sentence of the other document starts, like a real continuation does
        expect(starts(ds[x.docB] as TokenizedDocument).has(x.b[0] as number)).toBe(true);
      } else {
        expect(x.docB).toBe(x.docA);
        expect(contiguous(cat(x))).toBe(true);
      }
    }
  });

  test.prop([docsArb, optsArb], { numRuns: 150 })('labels are exactly balanced, pairs fit the sequence, segments are non-empty and cut at a sentence boundary', (ds, o) => {
    const p = build(ds, o);
    if (!p) return;
    expect(p.sop.length).toBe(p.nsp.length);
    for (const xs of [p.sop, p.nsp]) {
      const ones = xs.filter((x) => x.label === 1).length;
      expect(Math.abs(2 * ones - xs.length)).toBeLessThanOrEqual(1);
      for (const x of xs) {
        expect(x.a.length).toBeGreaterThan(0);
        expect(x.b.length).toBeGreaterThan(0);
        expect(x.a.length + x.b.length + 3).toBeLessThanOrEqual(o.maxSeqLength);
      }
    }
    // the original second segment starts a sentence (the cut is at a sentence boundary)
    for (const x of p.sop) {
      const second = x.label === 1 ? x.a : x.b;
      expect(starts(ds[x.docA] as TokenizedDocument).has(second[0] as number)).toBe(true);
    }
  });

  test.prop([docsArb, optsArb])('is a function of the seed', (ds, o) => {
    expect(evaluationPairs(ds, o)).toEqual(evaluationPairs(ds, o));
  });
});

describe('evaluation pairs (examples and errors)', () => {
  const ds = synthetic([
    [3, 4, 5, 2, 6],
    [4, 4, 4, 4],
    [2, 3],
  ]);

  it('builds both kinds from the same anchors, at most maxPairsPerDocument per document', () => {
    const p = build(ds, { maxSeqLength: 12, seed: 1, maxPairsPerDocument: 1 });
    expect(p?.sop.length).toBe(3);
    expect(p?.nsp.length).toBe(3);
    expect(new Set(p?.sop.map((x) => x.docA))).toEqual(new Set([0, 1, 2]));
  });

  it('caps the total with maxPairs', () => {
    expect(build(ds, { maxSeqLength: 8, seed: 1, maxPairs: 2 })?.sop.length).toBe(2);
  });

  it('says why it cannot build pairs', () => {
    expect(evaluationPairs(ds, { maxSeqLength: 4, seed: 1 })).toEqual(E.left({ kind: 'bad-options', message: 'maxSeqLength must be an integer >= 5, got 4' }));
    expect(evaluationPairs(synthetic([[3, 3, 3]]), { maxSeqLength: 16, seed: 1 })).toEqual(
      E.left({ kind: 'empty-corpus', message: 'next-sentence pairs need at least two documents (negatives come from another document)' }),
    );
    expect(evaluationPairs(synthetic([[5], [7]]), { maxSeqLength: 16, seed: 1 })).toEqual(
      E.left({ kind: 'empty-corpus', message: 'no document has two sentences to make an evaluation pair from' }),
    );
  });

  it('lays a pair out as [CLS] a [SEP] b [SEP] with token types and masks it for MLM', () => {
    const vocab: InstanceVocab = {
      special: { cls: 2, sep: 3, mask: 4 },
      isSpecial: (id) => id < 5,
      isWordStart: () => true,
      normalIds: Int32Array.from({ length: 50 }, (_, i) => i + 5),
    };
    const pair: SentencePair = { kind: 'sop', a: Int32Array.of(10, 11, 12), b: Int32Array.of(20, 21), label: 1, docA: 0, docB: 0 };
    const x = pairInstance(pair, vocab, { maskedLmProb: 0.3, maxPredictionsPerSeq: 2, maxNgram: 1 }, rng(3));
    const orig = Int32Array.from(x.inputIds);
    x.maskedLmPositions.forEach((p, k) => (orig[p] = x.maskedLmIds[k] as number));
    expect([...orig]).toEqual([2, 10, 11, 12, 3, 20, 21, 3]);
    expect([...x.tokenTypeIds]).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
    expect(x.sentenceOrderLabel).toBe(1);
    expect(x.maskedLmPositions.length).toBeGreaterThan(0);
    const xs = pairInstances([pair, pair], vocab, { maskedLmProb: 0.3, maxPredictionsPerSeq: 2, maxNgram: 1 }, 5);
    expect(pairInstances([pair], vocab, { maskedLmProb: 0.3, maxPredictionsPerSeq: 2, maxNgram: 1 }, 5)[0]).toEqual(xs[0]);
  });
});
