// The graph decoder's laws (compileGraphDecoder: a fixed-capacity key/value cache, each step one
// traced TensorFlow function): for random causal models, a prompt and k one-token steps give the
// full window's logits (within 1e-5 of the row's largest magnitude: same process, but a softmax
// over the whole capacity with the masked keys at exactly 0) and the eager cached decoder's; the
// decode step is traced once and reused by every later step; no tensor leaks over a generation;
// the capacity bounds hold; the eager engine and a failed trace give the same logits.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import {
  compile,
  compileGraphDecoder,
  compileIncremental,
  conv1d,
  dense,
  disposeCache,
  embedding,
  emptyCache,
  init,
  ModelInputError,
  multiHeadAttention,
  positionalEmbedding,
  repeat,
  residual,
  seq,
  shared,
  sinusoidalPositions,
  unwrap,
  type FixedKvCache,
  type KvCache,
  type Node,
  type Params,
} from '../src/index.js';
import { CAUSAL_VOCAB as V, causalModel, closeRows } from './causal-models.js';

const logitsOf = (out: unknown): tf.Tensor => (out instanceof tf.Tensor ? out : ((out as Record<string, tf.Tensor>).logits as tf.Tensor));
const ids2d = (rows: number[][]): tf.Tensor => tf.tensor2d(rows, undefined, 'int32');

describe('compileGraphDecoder: graph step-by-step logits = full-window logits (random causal models)', () => {
  it('prompt of random length, then k one-token steps, batch 1–2, all positions or the last (40 cases); two traces, no leak', () => {
    const cfg = fc.record({
      d: fc.constantFrom(4, 6),
      heads: fc.integer({ min: 1, max: 2 }),
      b: fc.integer({ min: 1, max: 2 }),
      p: fc.integer({ min: 1, max: 5 }),
      k: fc.integer({ min: 1, max: 4 }),
      spare: fc.integer({ min: 0, max: 3 }),
      all: fc.boolean(),
      seed: fc.nat(1000),
    });
    fc.assert(
      fc.property(
        cfg.chain((c) => fc.record({ c: fc.constant(c), model: causalModel(c.d, c.heads), ids: fc.array(fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: c.p + c.k, maxLength: c.p + c.k }), { minLength: c.b, maxLength: c.b }) })),
        ({ c, model, ids }) => {
          const before = tf.memory().numTensors;
          const params: Params = unwrap(init(model, c.seed));
          const full = tf.tidy(() => logitsOf(unwrap(compile(model))(params, { input: ids2d(ids) })).arraySync() as number[][][]);
          const notices: string[] = [];
          const dec = unwrap(compileGraphDecoder(model, { allPositions: c.all, onNotice: (l) => notices.push(l) }));
          const capacity = Math.min(c.p + c.k + c.spare, dec.maxPositions ?? Infinity);
          let cache: FixedKvCache = dec.emptyCache(c.b, capacity);
          expect(cache.layers.length).toBe(dec.applications);
          for (let t = 0; t <= c.k; t++) {
            const from = t === 0 ? 0 : c.p + t - 1;
            const to = t === 0 ? c.p : c.p + t;
            const x = ids2d(ids.map((r) => r.slice(from, to)));
            const s = dec.step(params, cache, x);
            expect(s.cache.length).toBe(to);
            expect(s.cache.capacity).toBe(capacity);
            const got = s.logits.arraySync() as number[][][];
            for (let bi = 0; bi < c.b; bi++) closeRows(got[bi] as number[][], (full[bi] as number[][]).slice(c.all ? from : to - 1, to));
            tf.dispose([x, s.logits]);
            disposeCache(cache);
            cache = s.cache;
          }
          disposeCache(cache);
          expect(notices).toEqual([]);
          expect(dec.engine()).toBe('graph');
          // one trace for the prompt's length, one for the decode step (the same when the prompt is one token)
          expect(dec.tracedFunctions()).toBe(c.p === 1 ? 1 : 2);
          Object.values(params).forEach((p) => p.dispose());
          expect(tf.memory().numTensors).toBe(before);
        },
      ),
      { numRuns: 40 },
    );
  });
});

/** A GPT-like model with a shared block applied 3 times (3 caches), learned positions, and a head. */
const gptLike = (): Node => seq(embedding(V, 8), positionalEmbedding(32, 8), repeat(shared(residual(multiHeadAttention(8, 2, { causal: true })), 'blk'), 3), dense(8, V));

describe('compileGraphDecoder over a generation', () => {
  it('traces the decode step once (20 steps), keeps tf.memory().numTensors flat, and gives the eager cached decoder\'s greedy ids', () => {
    const model = gptLike();
    const params = unwrap(init(model, 4));
    const dec = unwrap(compileGraphDecoder(model, { onNotice: () => {} }));
    const eager = unwrap(compileIncremental(model));
    const greedy = (t: tf.Tensor): number => tf.tidy(() => tf.argMax(tf.reshape(t, [-1])).dataSync()[0] as number);
    const prompt = [1, 2, 3, 4];
    const run = (graph: boolean): { ids: number[]; counts: number[]; traces: number[] } => {
      const ids = [...prompt];
      const counts: number[] = [];
      const traces: number[] = [];
      let cache: KvCache = graph ? dec.emptyCache(1, 32) : emptyCache();
      let pending = prompt;
      for (let n = 0; n < 20; n++) {
        const x = ids2d([pending]);
        const s = graph ? dec.step(params, cache as FixedKvCache, x) : eager.step(params, cache, x);
        x.dispose();
        disposeCache(cache);
        cache = s.cache;
        const next = greedy(s.logits);
        s.logits.dispose();
        ids.push(next);
        pending = [next];
        counts.push(tf.memory().numTensors);
        traces.push(dec.tracedFunctions());
      }
      disposeCache(cache);
      return { ids, counts, traces };
    };
    const before = tf.memory().numTensors;
    const g = run(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(g.counts).size).toBe(1);
    // the prompt's trace, then the decode step's: none after it
    expect(g.traces).toEqual([1, ...Array.from({ length: 19 }, () => 2)]);
    expect(run(false).ids).toEqual(g.ids);
    // a second generation with the same prompt length traces nothing new
    run(true);
    expect(dec.tracedFunctions()).toBe(2);
    // prefill 'eager': the prompt runs op by op, only the decode step is traced, the same logits
    const lazy = unwrap(compileGraphDecoder(model, { prefill: 'eager', onNotice: () => {} }));
    const c0 = lazy.emptyCache(1, 32);
    const c1 = dec.emptyCache(1, 32);
    const a = lazy.step(params, c0, ids2d([prompt]));
    const b = dec.step(params, c1, ids2d([prompt]));
    const a2 = lazy.step(params, a.cache, ids2d([[5]]));
    const b2 = dec.step(params, b.cache, ids2d([[5]]));
    for (const [x, y] of [[a, b], [a2, b2]] as const) closeRows((x.logits.arraySync() as number[][][])[0] as number[][], (y.logits.arraySync() as number[][][])[0] as number[][]);
    expect(lazy.tracedFunctions()).toBe(1);
    [c0, c1, a.cache, b.cache, a2.cache, b2.cache].forEach(disposeCache);
    tf.dispose([a.logits, b.logits, a2.logits, b2.logits]);
    Object.values(params).forEach((p) => p.dispose());
  });

  it('runs the same step eager: asked (no notice), or after a trace that fails (one notice), with the graph\'s logits', () => {
    const model = seq(embedding(V, 8), sinusoidalPositions(), residual(multiHeadAttention(8, 2, { causal: true })), dense(8, V));
    const params = unwrap(init(model, 2));
    const notices: string[] = [];
    const decoders = [
      unwrap(compileGraphDecoder(model, { onNotice: (l) => notices.push(`graph: ${l}`) })),
      unwrap(compileGraphDecoder(model, { engine: 'eager', onNotice: (l) => notices.push(`eager: ${l}`) })),
      // a 2-element capture limit: the step's own position constants cannot be embedded
      unwrap(compileGraphDecoder(model, { maxCaptureElements: 2, onNotice: (l) => notices.push(`small: ${l}`) })),
    ];
    const rows = decoders.map((dec) => {
      const c0 = dec.emptyCache(1, 8);
      const a = dec.step(params, c0, ids2d([[3, 1, 4]]));
      const b = dec.step(params, a.cache, ids2d([[1]]));
      const out = (b.logits.arraySync() as number[][][])[0] as number[][];
      [c0, a.cache, b.cache].forEach(disposeCache);
      tf.dispose([a.logits, b.logits]);
      return out;
    });
    expect(decoders.map((d) => d.engine())).toEqual(['graph', 'eager', 'eager']);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^small: graph: cannot compile this function to one graph \(.*\); running eager$/);
    closeRows(rows[1] as number[][], rows[0] as number[][]);
    closeRows(rows[2] as number[][], rows[0] as number[][]);
  });
});

describe('compileGraphDecoder: bounds and refusals', () => {
  it('a step beyond the capacity, a capacity beyond the positions, a batch that does not fit: ModelInputError', () => {
    const model = gptLike();
    const params = unwrap(init(model, 0));
    const dec = unwrap(compileGraphDecoder(model, { onNotice: () => {} }));
    expect(dec.maxPositions).toBe(32);
    expect(dec.applications).toBe(3);
    expect(() => dec.emptyCache(1, 33)).toThrow(ModelInputError);
    expect(() => dec.emptyCache(1, 0)).toThrow(/capacity must be an integer in 1 … 32/);
    const c = dec.emptyCache(1, 4);
    expect(() => dec.step(params, c, ids2d([[1, 2, 3, 4, 5]]))).toThrow(/0 cached \+ 5 new positions exceed the cache's capacity of 4 positions/);
    expect(() => dec.step(params, c, ids2d([[1], [2]]))).toThrow(/the cache holds 1 row\(s\); the new ids have 2/);
    disposeCache(c);
    Object.values(params).forEach((p) => p.dispose());
  });

  it('refuses what compileIncremental refuses, naming the node', () => {
    const r = compileGraphDecoder(seq(embedding(V, 4), conv1d(4, 4, 3, { padding: 'same' }), dense(4, V)));
    expect(r._tag === 'Left' && r.left.path).toBe('conv1d_0');
  });
});
