// Batching, the resumable batch iterator, the on-disk dataset cache and the cached build.
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  arraySource,
  batchIterator,
  buildPretrainingDataset,
  collate,
  measureInstanceThroughput,
  openDatasetCache,
  pretrainingInstances,
  pretrainingOptions,
  writeDatasetCache,
  type BatchIterator,
  type Corpus,
  type Instance,
  type TokenizedDocument,
} from '../src/data/index.js';
import { loadTokenizer } from '../src/tokenizer/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-batch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const inst = (ids: number[], types: number[], pos: number[], lab: number[], label: 0 | 1): Instance => ({
  inputIds: Int32Array.from(ids),
  tokenTypeIds: Int32Array.from(types),
  maskedLmPositions: Int32Array.from(pos),
  maskedLmIds: Int32Array.from(lab),
  sentenceOrderLabel: label,
});

const instanceArb = (S: number, P: number) =>
  fc
    .record({ n: fc.integer({ min: 3, max: S }), label: fc.constantFrom<0 | 1>(0, 1), seed: fc.integer({ min: 1, max: 1e6 }) })
    .map(({ n, label, seed }) => {
      const ids = Array.from({ length: n }, (_, i) => 5 + ((seed * (i + 7)) % 900));
      const types = Array.from({ length: n }, (_, i) => (i > n / 2 ? 1 : 0));
      const k = Math.min(P, Math.max(1, Math.floor(n / 4)));
      const pos = Array.from({ length: k }, (_, i) => 1 + i * Math.floor((n - 2) / k));
      return inst(ids, types, pos, pos.map((p) => ids[p] as number), label);
    });

const iter = (r: E.Either<{ message: string }, BatchIterator>): BatchIterator => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('collate', () => {
  it('pads to [B,S] / [B,P] with pad id, zero types, zero mask, zero positions with weight 0', () => {
    const b = collate([inst([2, 10, 3, 11, 3], [0, 0, 0, 1, 1], [1, 3], [10, 11], 1), inst([2, 12, 3, 13, 14, 3], [0, 0, 0, 1, 1, 1], [4], [14], 0)], {
      seqLength: 8,
      maxPredictions: 3,
      padId: 0,
    });
    expect(b.shapes).toEqual({ inputIds: [2, 8], maskedLm: [2, 3], sentenceOrderLabel: [2] });
    expect([...b.inputIds]).toEqual([2, 10, 3, 11, 3, 0, 0, 0, 2, 12, 3, 13, 14, 3, 0, 0]);
    expect([...b.tokenTypeIds]).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]);
    expect([...b.attentionMask]).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]);
    expect([...b.maskedLmPositions]).toEqual([1, 3, 0, 4, 0, 0]);
    expect([...b.maskedLmIds]).toEqual([10, 11, 0, 14, 0, 0]);
    expect([...b.maskedLmWeights]).toEqual([1, 1, 0, 1, 0, 0]);
    expect([...b.sentenceOrderLabel]).toEqual([1, 0]);
    expect(b.inputIds).toBeInstanceOf(Int32Array);
  });

  test.prop([fc.array(instanceArb(24, 5), { minLength: 1, maxLength: 8 })], { numRuns: 100 })('mask sums equal lengths; weights equal prediction counts', (xs) => {
    const b = collate(xs, { seqLength: 24, maxPredictions: 5, padId: 0 });
    xs.forEach((x, i) => {
      expect(b.attentionMask.subarray(i * 24, (i + 1) * 24).reduce((s, v) => s + v, 0)).toBe(x.inputIds.length);
      expect(b.maskedLmWeights.subarray(i * 5, (i + 1) * 5).reduce((s, v) => s + v, 0)).toBe(x.maskedLmPositions.length);
    });
  });
});

describe('batchIterator', () => {
  const xs = Array.from({ length: 10 }, (_, i) => inst([2, 100 + i, 3, 200 + i, 3], [0, 0, 0, 1, 1], [1], [100 + i], (i % 2) as 0 | 1));
  const o = { batchSize: 4, seqLength: 6, maxPredictions: 2, padId: 0, seed: 3 };
  const ids = (it: BatchIterator, n: number): number[] => Array.from({ length: n }, () => [...it.next().value.inputIds].filter((_, k) => k % 6 === 1)).flat();

  it('visits every instance exactly once per epoch, in an order that changes between epochs', () => {
    const seen = ids(iter(batchIterator(arraySource(xs), o)), 5); // 20 instances = 2 epochs
    const e0 = seen.slice(0, 10);
    const e1 = seen.slice(10, 20);
    expect([...e0].sort()).toEqual(xs.map((x) => x.inputIds[1]).sort());
    expect([...e1].sort()).toEqual([...e0].sort());
    expect(e1).not.toEqual(e0);
  });

  test.prop([fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 10 })], { numRuns: 100 })('resuming from state() continues exactly', (before, after) => {
    const a = iter(batchIterator(arraySource(xs), o));
    ids(a, before);
    const saved = a.state();
    const rest = ids(a, after);
    const b = iter(batchIterator(arraySource(xs), { ...o, seed: 999 }, saved)); // the cursor's seed wins
    expect(ids(b, after)).toEqual(rest);
    expect(b.state()).toEqual(a.state());
  });

  it('errors are values: empty source, bad batch size, bad cursor', () => {
    expect(E.isLeft(batchIterator(arraySource([]), o))).toBe(true);
    expect(E.isLeft(batchIterator(arraySource(xs), { ...o, batchSize: 0 }))).toBe(true);
    expect(E.isLeft(batchIterator(arraySource(xs), o, { seed: 1, cursor: -1 }))).toBe(true);
  });
});

describe('dataset cache', () => {
  test.prop([fc.array(instanceArb(16, 4), { minLength: 0, maxLength: 40 })], { numRuns: 30 })('round-trips instances exactly, with random access', (xs) => {
    const file = path.join(tmp, 'rt.lpt');
    const w = writeDatasetCache(file, { key: 'k1', seqLength: 16, maxPredictions: 4, meta: { note: 'x' } }, xs);
    expect(w).toEqual(E.right(xs.length));
    const r = openDatasetCache(file, 'k1');
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(r.right.size).toBe(xs.length);
    expect([...r.right.instances()]).toEqual(xs);
    if (xs.length > 0) expect(r.right.get(xs.length - 1)).toEqual(xs[xs.length - 1]);
    expect(r.right.header.meta).toEqual({ note: 'x' });
    r.right.close();
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects foreign, truncated, stale and oversize input as error values', () => {
    const file = path.join(tmp, 'c.lpt');
    const xs = [inst([2, 10, 3, 11, 3], [0, 0, 0, 1, 1], [1], [10], 0), inst([2, 12, 3, 13, 3], [0, 0, 0, 1, 1], [3], [13], 1)];
    expect(E.isRight(writeDatasetCache(file, { key: 'k', seqLength: 8, maxPredictions: 2, meta: {} }, xs))).toBe(true);
    expect(openDatasetCache(file, 'other')).toEqual(E.left({ kind: 'bad-cache', message: expect.stringMatching(/cache key differs/) }));
    fs.writeFileSync(path.join(tmp, 'trunc.lpt'), fs.readFileSync(file).subarray(0, fs.statSync(file).size - 3));
    expect(openDatasetCache(path.join(tmp, 'trunc.lpt'))).toEqual(E.left({ kind: 'bad-cache', message: expect.stringMatching(/truncated/) }));
    fs.writeFileSync(path.join(tmp, 'foreign.lpt'), 'hello world, not a cache at all');
    expect(openDatasetCache(path.join(tmp, 'foreign.lpt'))).toEqual(E.left({ kind: 'bad-cache', message: expect.stringMatching(/not a lamina dataset cache/) }));
    expect(openDatasetCache(path.join(tmp, 'missing.lpt'))).toEqual(E.left({ kind: 'not-found', message: expect.any(String) }));
    const big = writeDatasetCache(path.join(tmp, 'big.lpt'), { key: 'k', seqLength: 4, maxPredictions: 2, meta: {} }, xs);
    expect(E.isLeft(big) && big.left.kind).toBe('bad-options');
    expect(fs.existsSync(path.join(tmp, 'big.lpt'))).toBe(false);
  });

  it('buildPretrainingDataset builds once, then re-reads the cache (same instances, no rebuild)', () => {
    const t = loadTokenizer(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../assets/vocab'));
    if (E.isLeft(t)) throw new Error(t.left.message);
    const corpus: Corpus = {
      name: 'tiny',
      fingerprint: 'tiny-v1',
      documents: () =>
        Array.from({ length: 12 }, (_, d) => ({ id: `d${d}`, sentences: Array.from({ length: 8 }, (_, s) => `Document ${d} has sentence number ${s} about the white whale.`) })),
    };
    const o = pretrainingOptions({ maxSeqLength: 32, maxPredictionsPerSeq: 5, seed: 4 });
    if (E.isLeft(o)) throw new Error(o.left.message);
    const a = buildPretrainingDataset({ corpus, tokenizer: t.right, options: o.right, cacheDir: tmp });
    if (E.isLeft(a)) throw new Error(a.left.message);
    expect(a.right.built).toBe(true);
    expect(a.right.size).toBeGreaterThan(10);
    const first = [...a.right.instances()];
    a.right.close();
    const b = buildPretrainingDataset({ corpus, tokenizer: t.right, options: o.right, cacheDir: tmp });
    if (E.isLeft(b)) throw new Error(b.left.message);
    expect(b.right.built).toBe(false);
    expect([...b.right.instances()]).toEqual(first);
    b.right.close();
    // a different seed is a different dataset
    const c = buildPretrainingDataset({ corpus, tokenizer: t.right, options: { ...o.right, seed: 5 }, cacheDir: tmp });
    if (E.isLeft(c)) throw new Error(c.left.message);
    expect(c.right.built).toBe(true);
    c.right.close();
  });
});

describe('measureInstanceThroughput', () => {
  it('reports instances, tokens and a positive rate on given documents (no timing assertion)', () => {
    const docs: TokenizedDocument[] = Array.from({ length: 4 }, (_, d) => ({
      id: `d${d}`,
      sentences: Array.from({ length: 10 }, (_, s) => Int32Array.from({ length: 12 }, (_, k) => 20 + ((d * 31 + s * 7 + k) % 500))),
    }));
    const t = loadTokenizer(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../assets/vocab'));
    if (E.isLeft(t)) throw new Error(t.left.message);
    const r = measureInstanceThroughput({ tokenizer: t.right, documents: docs, options: { maxSeqLength: 64 }, repeats: 2 });
    if (E.isLeft(r)) throw new Error(r.left.message);
    const o = pretrainingOptions({ maxSeqLength: 64 });
    if (E.isLeft(o)) throw new Error(o.left.message);
    const perPass = [...pretrainingInstances(docs, t.right, o.right)];
    expect(r.right.documents).toBe(4);
    expect(r.right.instances).toBeGreaterThan(perPass.length); // two passes
    expect(r.right.tokens).toBeGreaterThan(perPass.reduce((s, x) => s + x.inputIds.length, 0));
    expect(r.right.tokens).toBeGreaterThan(0);
    expect(r.right.tokensPerSecond).toBeGreaterThan(0);
    expect(E.isLeft(measureInstanceThroughput({ options: { maxSeqLength: 2 } }))).toBe(true);
  });
});
