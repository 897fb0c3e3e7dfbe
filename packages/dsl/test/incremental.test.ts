// Incremental decoding's laws: for random causal models, the logits of a prompt and then k cached
// steps equal the full window's logits at the same positions (within 1e-5 of the row's largest
// magnitude: same process, but different reduction lengths in the softmax); the stream cut to its
// last position gives the full window's last row; models a cache cannot serve are refused with the
// node's path; the positions bound holds; no tensor leaks.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import {
  compile,
  compileIncremental,
  compileLastPosition,
  conv1d,
  dense,
  disposeCache,
  embedding,
  emptyCache,
  firstToken,
  init,
  layerNorm,
  maxPool,
  modelPositions,
  ModelInputError,
  multiHeadAttention,
  named,
  positionalEmbedding,
  repeat,
  residual,
  seq,
  shared,
  unwrap,
  type KvCache,
  type Node,
  type Params,
} from '../src/index.js';
import { CAUSAL_VOCAB, causalModel, closeRows } from './causal-models.js';

const V = CAUSAL_VOCAB;

const logitsOf = (out: unknown): tf.Tensor => (out instanceof tf.Tensor ? out : ((out as Record<string, tf.Tensor>).logits as tf.Tensor));

describe('compileIncremental: cached step-by-step logits = full-window logits (random causal models)', () => {
  it('prompt of random length, then k cached steps, batch 1–2 (40 cases)', () => {
    const cfg = fc.record({ d: fc.constantFrom(4, 6), heads: fc.integer({ min: 1, max: 2 }), b: fc.integer({ min: 1, max: 2 }), p: fc.integer({ min: 1, max: 5 }), k: fc.integer({ min: 1, max: 4 }), seed: fc.nat(1000) });
    fc.assert(
      fc.property(
        cfg.chain((c) => fc.record({ c: fc.constant(c), model: causalModel(c.d, c.heads), ids: fc.array(fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: c.p + c.k, maxLength: c.p + c.k }), { minLength: c.b, maxLength: c.b }) })),
        ({ c, model, ids }) => {
          const before = tf.memory().numTensors;
          const params: Params = unwrap(init(model, c.seed));
          const full = tf.tidy(() => logitsOf(unwrap(compile(model))(params, { input: tf.tensor2d(ids, undefined, 'int32') })).arraySync() as number[][][]);
          const dec = unwrap(compileIncremental(model, { allPositions: true }));
          const last = unwrap(compileIncremental(model));
          let cache: KvCache = emptyCache();
          let cacheLast: KvCache = emptyCache();
          for (let t = 0; t <= c.k; t++) {
            const from = t === 0 ? 0 : c.p + t - 1;
            const to = t === 0 ? c.p : c.p + t;
            const x = tf.tensor2d(ids.map((r) => r.slice(from, to)), undefined, 'int32');
            const s = dec.step(params, cache, x);
            const sl = last.step(params, cacheLast, x);
            expect(s.cache.length).toBe(to);
            expect(s.cache.layers.length).toBe(dec.applications);
            const got = s.logits.arraySync() as number[][][];
            const gotLast = sl.logits.arraySync() as number[][][];
            for (let bi = 0; bi < c.b; bi++) {
              closeRows(got[bi] as number[][], (full[bi] as number[][]).slice(from, to));
              closeRows(gotLast[bi] as number[][], (full[bi] as number[][]).slice(to - 1, to));
            }
            [x, s.logits, sl.logits].forEach((u) => u.dispose());
            disposeCache(cache);
            disposeCache(cacheLast);
            cache = s.cache;
            cacheLast = sl.cache;
          }
          disposeCache(cache);
          disposeCache(cacheLast);
          Object.values(params).forEach((p) => p.dispose());
          expect(tf.memory().numTensors).toBe(before);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('repeat(shared(block), N) keeps N caches (one per application), not one per parameter set', () => {
    const blk = shared(residual(multiHeadAttention(4, 2, { causal: true })), 'blk');
    const model = seq(embedding(V, 4), repeat(blk, 3), named('ffn', repeat(residual(multiHeadAttention(4, 1, { causal: true })), 2)), dense(4, V));
    const dec = unwrap(compileIncremental(model));
    expect(dec.applications).toBe(5);
    const params = unwrap(init(model, 1));
    const s = dec.step(params, emptyCache(), tf.tensor2d([[1, 2, 3]], undefined, 'int32'));
    expect(s.cache.layers.map((l) => l.key.shape)).toEqual(Array.from({ length: 5 }, (_, i) => [1, i < 3 ? 2 : 1, 3, i < 3 ? 2 : 4]));
    expect(s.logits.shape).toEqual([1, 1, V]);
    disposeCache(s.cache);
  });
});

describe('compileIncremental refuses what a cache cannot serve, naming the node', () => {
  it('non-causal attention, conv1d, pooling, firstToken', () => {
    const cases: [Node, RegExp, string][] = [
      [seq(embedding(V, 4), residual(named('attn', multiHeadAttention(4, 2))), dense(4, V)), /not causal/, 'attn'],
      [seq(embedding(V, 4), conv1d(4, 4, 3, { padding: 'same' }), dense(4, V)), /convolution/, 'conv1d_0'],
      [seq(embedding(V, 4), maxPool(), dense(4, V)), /pools/, 'pool'],
      [seq(embedding(V, 4), firstToken, dense(4, V)), /first position/, 'firstToken'],
    ];
    for (const [m, msg, path] of cases) {
      const r = compileIncremental(m);
      expect(r._tag).toBe('Left');
      if (r._tag === 'Left') {
        expect(r.left.path).toBe(path);
        expect(r.left.message).toMatch(msg);
      }
    }
  });
});

describe('compileLastPosition: any model, logits at the last position only', () => {
  it('equals the full forward\'s last row, for a conv1d model and a non-causal one', () => {
    const models: Node[] = [
      seq(embedding(V, 4), conv1d(4, 4, 3, { padding: 'same' }), layerNorm(4), dense(4, V)),
      seq(embedding(V, 4), positionalEmbedding(8, 4), residual(multiHeadAttention(4, 2)), dense(4, 8), dense(8, V)),
    ];
    for (const m of models) {
      const params = unwrap(init(m, 3));
      const ids = tf.tensor2d([[1, 5, 7, 2, 9]], undefined, 'int32');
      const full = (unwrap(compile(m))(params, { input: ids }) as tf.Tensor).arraySync() as number[][][];
      const lp = unwrap(compileLastPosition(m))(params, { input: ids });
      expect(lp.shape).toEqual([1, 1, V]);
      closeRows((lp.arraySync() as number[][][])[0] as number[][], [(full[0] as number[][])[4] as number[]]);
    }
  });

  it('throws a ModelInputError for an unknown input name', () => {
    const m = seq(embedding(V, 4), dense(4, V));
    const f = unwrap(compileLastPosition(m));
    expect(() => f(unwrap(init(m, 0)), { input: tf.tensor2d([[1]], undefined, 'int32'), typo: tf.zeros([1]) })).toThrow(ModelInputError);
  });
});

describe('the positions bound', () => {
  it('a step beyond maxLen throws a ModelInputError (no sliding window)', () => {
    const m = seq(embedding(V, 4), positionalEmbedding(4, 4), residual(multiHeadAttention(4, 2, { causal: true })), dense(4, V));
    expect(modelPositions(m)).toBe(4);
    const dec = unwrap(compileIncremental(m));
    expect(dec.maxPositions).toBe(4);
    const params = unwrap(init(m, 0));
    const a = dec.step(params, emptyCache(), tf.tensor2d([[1, 2, 3, 4]], undefined, 'int32'));
    expect(() => dec.step(params, a.cache, tf.tensor2d([[5]], undefined, 'int32'))).toThrow(/4 cached \+ 1 new positions exceed the model's 4 positions/);
    disposeCache(a.cache);
  });
});
