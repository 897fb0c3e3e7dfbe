// The DSL's laws as fast-check properties, each over at least 100 generated cases (pure ones
// over 200-300, since they cost no tensor work).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import {
  compile,
  countParams,
  decodeModel,
  dense,
  encodeModel,
  equalLayers,
  factorize,
  inferShape,
  init,
  paramSpecs,
  repeat,
  seq,
  shared,
  tensorSig,
  unwrap,
  type Node,
  type ParamStore,
  type Params,
} from '../src/index.js';
import { endoLayer, smallDim, unshared } from './arbitraries.js';

const count = (m: Node): number => unwrap(countParams(m));
const run = (m: Node, params: Params, x: tf.Tensor, training = false): tf.Tensor => unwrap(compile(m))(params, { input: x }, { training, seed: 7 }) as tf.Tensor;

/** Rebinds the values of `from` (in walk order) to the parameter paths of `to` (same structure, other names). */
const rebind = (from: Node, to: Node, store: ParamStore): Params => {
  const a = unwrap(paramSpecs(from));
  const b = unwrap(paramSpecs(to));
  expect(b.map((s) => s.shape)).toEqual(a.map((s) => s.shape));
  return Object.fromEntries(b.map((s, i) => [s.path, store[(a[i] as { path: string }).path] as tf.Tensor]));
};

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);

const withParams = (m: Node, seed: number, f: (p: ParamStore) => void): void => {
  const p = unwrap(init(m, seed));
  try {
    tf.tidy(() => {
      f(p);
    });
  } finally {
    Object.values(p).forEach((v) => v.dispose());
  }
};

describe('parameter-count laws (pure, 200 cases each)', () => {
  it('countParams(repeat(shared(f), n)) = countParams(f)', () => {
    fc.assert(
      fc.property(smallDim.chain((d) => fc.tuple(endoLayer(d), fc.integer({ min: 1, max: 12 }))), ([f, n]) => {
        expect(count(repeat(shared(f, 'tied'), n))).toBe(count(f));
      }),
      { numRuns: 200 },
    );
  });

  it('countParams(repeat(f, n)) = n · countParams(f) when f shares nothing', () => {
    fc.assert(
      fc.property(smallDim.chain((d) => fc.tuple(endoLayer(d).filter(unshared), fc.integer({ min: 1, max: 12 }))), ([f, n]) => {
        expect(count(repeat(f, n))).toBe(n * count(f));
      }),
      { numRuns: 200 },
    );
  });

  it('countParams(factorize(V, E, H)) = V·E + E·H + H', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50000 }), fc.integer({ min: 1, max: 1024 }), fc.integer({ min: 1, max: 4096 }), (V, Em, H) => {
        expect(count(factorize(V, Em, H))).toBe(V * Em + Em * H + H);
      }),
      { numRuns: 200 },
    );
  });

  it('shared parameters are stored once and report their use count', () => {
    fc.assert(
      fc.property(smallDim.chain((d) => fc.tuple(endoLayer(d), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }))), ([f, m, n]) => {
        const s = shared(f, 'tied');
        const a = repeat(s, m + n);
        const b = seq(repeat(s, m), repeat(s, n));
        expect(count(a)).toBe(count(b));
        expect(unwrap(paramSpecs(a)).map((p) => p.path)).toEqual(unwrap(paramSpecs(b)).map((p) => p.path));
      }),
      { numRuns: 200 },
    );
  });
});

describe('serialization (pure, 300 cases)', () => {
  it('decode(encode(m)) equals m, also through JSON text', () => {
    fc.assert(
      fc.property(smallDim.chain((d) => endoLayer(d, 4)), (m) => {
        const back = decodeModel(JSON.parse(JSON.stringify(encodeModel(m))));
        expect(E.isRight(back)).toBe(true);
        if (E.isRight(back)) {
          expect(equalLayers(back.right, m)).toBe(true);
          expect(back.right).toEqual(m);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('shape inference (pure, 200 cases)', () => {
  it('an endo layer at width d maps [b, s, d] to [b, s, d]', () => {
    fc.assert(
      fc.property(smallDim.chain((d) => fc.tuple(fc.constant(d), endoLayer(d))), fc.integer({ min: 1, max: 4 }), ([d, f], b) => {
        expect(inferShape(f, tensorSig([b, null, d]))).toEqual(E.right(tensorSig([b, null, d])));
      }),
      { numRuns: 200 },
    );
  });
});

describe('laws that run tensors (100 cases each)', () => {
  const runs = { numRuns: 100 };

  it('inferred shapes equal the shapes the compiled function returns', () => {
    fc.assert(
      fc.property(
        smallDim.chain((d) => fc.tuple(fc.constant(d), endoLayer(d))),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        ([d, f], b, s, seed) => {
          const model = seq(dense(3, d), f as never, dense(d, 2));
          const want = unwrap(inferShape(model, tensorSig([b, s, 3])));
          withParams(model, seed, (p) => {
            const y = run(model, p, tf.randomNormal([b, s, 3], 0, 1, 'float32', seed));
            expect('shape' in want && want.shape).toEqual(y.shape);
          });
        },
      ),
      runs,
    );
  });

  it('composition is associative: seq(seq(a, b), c) ≡ seq(a, seq(b, c))', () => {
    fc.assert(
      fc.property(
        smallDim.chain((d) => fc.tuple(fc.constant(d), endoLayer(d, 2), endoLayer(d, 2), endoLayer(d, 2))),
        fc.integer({ min: 0, max: 1000 }),
        ([d, a, b, c], seed) => {
          const left: Node = { kind: 'seq', layers: [{ kind: 'seq', layers: [a, b] }, c] };
          const right: Node = { kind: 'seq', layers: [a, { kind: 'seq', layers: [b, c] }] };
          withParams(left, seed, (p) => {
            const x = tf.randomNormal([2, 3, d], 0, 1, 'float32', seed);
            expect(maxAbsDiff(run(left, p, x), run(right, rebind(left, right, p), x))).toBeLessThan(1e-5);
          });
        },
      ),
      runs,
    );
  });

  it('repeat(f, 1) ≡ f', () => {
    fc.assert(
      fc.property(smallDim.chain((d) => fc.tuple(fc.constant(d), endoLayer(d))), fc.integer({ min: 0, max: 1000 }), ([d, f], seed) => {
        const r = repeat(f as never, 1) as Node;
        withParams(f, seed, (p) => {
          const x = tf.randomNormal([2, 2, d], 0, 1, 'float32', seed);
          expect(maxAbsDiff(run(f, p, x), run(r, rebind(f, r, p), x))).toBeLessThan(1e-5);
        });
      }),
      runs,
    );
  });

  it('repeat(shared(f), m + n) ≡ seq(repeat(shared(f), m), repeat(shared(f), n)) with one parameter set', () => {
    fc.assert(
      fc.property(
        smallDim.chain((d) => fc.tuple(fc.constant(d), endoLayer(d, 2))),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1000 }),
        ([d, f], m, n, seed) => {
          const s = shared(f, 'tied');
          const a = repeat(s, m + n);
          const b = seq(repeat(s, m), repeat(s, n));
          withParams(a, seed, (p) => {
            const x = tf.randomNormal([2, 2, d], 0, 1, 'float32', seed);
            expect(maxAbsDiff(run(a, p, x), run(b, p, x))).toBeLessThan(1e-4);
          });
        },
      ),
      runs,
    );
  });

  it('the gradient of a parameter shared by k uses is the sum of the k gradients of untied copies', () => {
    fc.assert(
      fc.property(
        smallDim.chain((d) => fc.tuple(fc.constant(d), endoLayer(d, 2).filter(unshared))),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        ([d, f], k, seed) => {
          const tiedM = repeat(shared(f, 'tied'), k);
          const untied = repeat(f as never, k) as Node;
          const tiedSpecs = unwrap(paramSpecs(tiedM));
          const untiedSpecs = unwrap(paramSpecs(untied));
          if (tiedSpecs.length === 0) return;
          // untied copies hold the same values as the tied set (copy i's j-th parameter = tied j-th),
          // as distinct tensors (tf.grads would merge the gradients of one tensor passed twice)
          const perCopy = untiedSpecs.length / k;
          expect(perCopy).toBe(tiedSpecs.length);
          withParams(tiedM, seed, (p) => {
            const x = tf.randomNormal([2, 3, d], 0, 1, 'float32', seed);
            const names = tiedSpecs.map((s) => s.path);
            const tiedGrads = tf.grads((...vs: tf.Tensor[]) => {
              const ps = Object.fromEntries(names.map((nm, i) => [nm, vs[i] as tf.Tensor]));
              return tf.sum(tf.square(run(tiedM, ps, x)));
            })(names.map((nm) => p[nm] as tf.Tensor));
            const untiedNames = untiedSpecs.map((s) => s.path);
            const untiedGrads = tf.grads((...vs: tf.Tensor[]) => {
              const ps = Object.fromEntries(untiedNames.map((nm, i) => [nm, vs[i] as tf.Tensor]));
              return tf.sum(tf.square(run(untied, ps, x)));
            })(untiedNames.map((_, i) => tf.clone(p[names[i % perCopy] as string] as tf.Tensor)));
            for (const [j, g] of tiedGrads.entries()) {
              const sum = tf.addN(Array.from({ length: k }, (_, c) => untiedGrads[c * perCopy + j] as tf.Tensor));
              const scale = Math.max(1, tf.max(tf.abs(sum)).dataSync()[0] as number);
              expect(maxAbsDiff(g, sum) / scale).toBeLessThan(1e-4);
            }
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('init is deterministic per seed and differs across seeds', () => {
    fc.assert(
      fc.property(smallDim.chain((d) => endoLayer(d)), fc.integer({ min: 0, max: 2 ** 31 }), (f, seed) => {
        const a = unwrap(init(f, seed));
        const b = unwrap(init(f, seed));
        const c = unwrap(init(f, seed + 1));
        try {
          for (const [k, v] of Object.entries(a)) {
            expect(maxAbsDiff(v, b[k] as tf.Tensor)).toBe(0);
            const isRandom = unwrap(paramSpecs(f)).find((s) => s.path === k)?.init.kind === 'normal';
            if (isRandom && v.size > 1) expect(maxAbsDiff(v, c[k] as tf.Tensor)).toBeGreaterThan(0);
          }
        } finally {
          [a, b, c].forEach((s) => Object.values(s).forEach((v) => v.dispose()));
        }
      }),
      runs,
    );
  });
});
