// Causal attention: its laws as properties. The "no peeking" law is exact (same code, same
// process: changing any token after position i leaves outputs at positions <= i bit-identical);
// values and gradients are checked against autodiff of the plain formula with a tolerance.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import {
  compile,
  decodeModel,
  dense,
  embedding,
  encodeModel,
  flops,
  inferShape,
  init,
  layerNorm,
  multiHeadAttention,
  named,
  positionalEmbedding,
  repeat,
  residual,
  seq,
  summary,
  tensorSig,
  unwrap,
  type Node,
  type Params,
} from '../src/index.js';

/** A GPT-style pre-norm decoder block at width d. */
const gptBlock = (d: number, heads: number, headSize: number): Node =>
  seq(
    residual(seq(named('ln_1', layerNorm(d, 1e-5)), named('attn', multiHeadAttention(d, heads, { headSize, causal: true })))),
    residual(seq(named('ln_2', layerNorm(d, 1e-5)), named('mlp_fc', dense(d, 2 * d, { activation: 'gelu_new' })), named('mlp_proj', dense(2 * d, d)))),
  );

const arrays = (t: tf.Tensor): number[][][] => t.arraySync() as number[][][];

describe('causal attention: outputs at positions <= i never depend on tokens after i (bit-identical, 100 cases)', () => {
  it('GPT-style stack of 2 blocks, with and without a padding mask', () => {
    const cfg = fc.record({
      heads: fc.integer({ min: 1, max: 3 }),
      headSize: fc.integer({ min: 1, max: 4 }),
      b: fc.integer({ min: 1, max: 2 }),
      s: fc.integer({ min: 2, max: 7 }),
      withMask: fc.boolean(),
      seed: fc.integer({ min: 0, max: 1e6 }),
    });
    fc.assert(
      fc.property(
        cfg.chain((c) =>
          fc.record({
            c: fc.constant(c),
            i: fc.integer({ min: 0, max: c.s - 2 }),
            ids: fc.array(fc.array(fc.integer({ min: 0, max: 19 }), { minLength: c.s, maxLength: c.s }), { minLength: c.b, maxLength: c.b }),
            other: fc.array(fc.array(fc.integer({ min: 0, max: 19 }), { minLength: c.s, maxLength: c.s }), { minLength: c.b, maxLength: c.b }),
            mask: fc.array(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: c.s, maxLength: c.s }), { minLength: c.b, maxLength: c.b }),
            otherMask: fc.array(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: c.s, maxLength: c.s }), { minLength: c.b, maxLength: c.b }),
          }),
        ),
        ({ c, i, ids, other, mask, otherMask }) => {
          const d = c.heads * c.headSize;
          const model = seq(embedding(20, d, { initStd: 0.5 }), positionalEmbedding(8, d, { initStd: 0.5 }), repeat(gptBlock(d, c.heads, c.headSize), 2));
          const params = unwrap(init(model, c.seed));
          const f = unwrap(compile(model));
          // every token (and mask entry) after position i replaced
          const after = <T,>(a: T[][], b: T[][]): T[][] => a.map((row, r) => row.map((v, j) => (j > i ? (b[r] as T[])[j] as T : v)));
          try {
            const [y1, y2] = tf.tidy(() => {
              const run = (x: number[][], m: number[][]) =>
                arrays(f(params, { input: tf.tensor2d(x, undefined, 'int32'), ...(c.withMask ? { attention_mask: tf.tensor2d(m, undefined, 'int32') } : {}) }) as tf.Tensor);
              return [run(ids, mask), run(after(ids, other), after(mask, otherMask))];
            });
            for (let r = 0; r < c.b; r++)
              for (let j = 0; j <= i; j++) {
                const a = Float32Array.from(y1[r]?.[j] ?? []);
                const b = Float32Array.from(y2[r]?.[j] ?? []);
                expect(new Uint8Array(b.buffer)).toEqual(new Uint8Array(a.buffer));
              }
          } finally {
            Object.values(params).forEach((v) => v.dispose());
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('the law has teeth: without causal, an earlier position does see a later token', () => {
    const d = 4;
    const model = seq(embedding(20, d, { initStd: 0.5 }), multiHeadAttention(d, 2, { initStd: 0.5 }));
    const params = unwrap(init(model, 3));
    const f = unwrap(compile(model));
    const y = tf.tidy(() => [[[1, 2, 3]], [[1, 2, 9]]].map((x) => arrays(f(params, { input: tf.tensor2d(x, [1, 3], 'int32') }) as tf.Tensor)));
    expect(y[0]?.[0]?.[0]).not.toEqual(y[1]?.[0]?.[0]);
    Object.values(params).forEach((v) => v.dispose());
  });
});

/** The plain formula, written out per position with explicit -Infinity for the future. */
const reference = (p: Params, x: tf.Tensor3D, heads: number, headSize: number, mask: tf.Tensor2D | undefined): tf.Tensor => {
  const [b, s, d] = x.shape;
  const lin = (t: tf.Tensor, w: string, bias: string) =>
    tf.add(tf.matMul(tf.reshape(t, [-1, t.shape[t.rank - 1] as number]), p[`attn.${w}`] as tf.Tensor2D), p[`attn.${bias}`] as tf.Tensor);
  const q = tf.reshape(lin(x, 'query.kernel', 'query.bias'), [b, s, heads, headSize]);
  const k = tf.reshape(lin(x, 'key.kernel', 'key.bias'), [b, s, heads, headSize]);
  const v = tf.reshape(lin(x, 'value.kernel', 'value.bias'), [b, s, heads, headSize]);
  const rows: tf.Tensor[] = [];
  for (let i = 0; i < s; i++) {
    const qi = tf.slice(q, [0, i, 0, 0], [b, 1, heads, headSize]); // [b, 1, h, e]
    const kp = tf.slice(k, [0, 0, 0, 0], [b, i + 1, heads, headSize]); // only the past and i itself
    const vp = tf.slice(v, [0, 0, 0, 0], [b, i + 1, heads, headSize]);
    let sc = tf.div(tf.sum(tf.mul(qi, kp), -1), Math.sqrt(headSize)); // [b, i+1, h]
    if (mask) sc = tf.add(sc, tf.expandDims(tf.mul(tf.sub(1, tf.cast(tf.slice(mask, [0, 0], [b, i + 1]), 'float32')), -1e9), -1));
    const pr = tf.softmax(tf.transpose(sc, [0, 2, 1])); // [b, h, i+1]
    rows.push(tf.sum(tf.mul(tf.expandDims(tf.transpose(pr, [0, 2, 1]), -1), vp), 1)); // [b, h, e]
  }
  const ctx = tf.reshape(tf.stack(rows, 1), [b * s, heads * headSize]);
  return tf.reshape(lin(ctx, 'output.kernel', 'output.bias'), [b, s, d]);
};

describe('causal attention = the plain formula, values and gradients (autodiff of the formula, 100 cases)', () => {
  it('matches within 1e-4 (relative), with and without padding', () => {
    fc.assert(
      fc.property(
        fc.record({
          heads: fc.integer({ min: 1, max: 3 }),
          headSize: fc.integer({ min: 1, max: 3 }),
          b: fc.integer({ min: 1, max: 2 }),
          s: fc.integer({ min: 1, max: 5 }),
          withMask: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1e6 }),
        }),
        ({ heads, headSize, b, s, withMask, seed }) => {
          const d = heads * headSize;
          const model = named('attn', multiHeadAttention(d, heads, { headSize, causal: true, initStd: 0.5 }));
          const params = unwrap(init(model, seed));
          const f = unwrap(compile(model));
          try {
            tf.tidy(() => {
              const x = tf.randomNormal([b, s, d], 0, 1, 'float32', seed) as tf.Tensor3D;
              // the first position is always valid, so no query row is fully padded
              const mask = withMask
                ? (tf.concat([tf.ones([b, 1], 'int32'), tf.cast(tf.greater(tf.randomUniform([b, s - 1], 0, 1, 'float32', seed + 1), 0.4), 'int32')], 1) as tf.Tensor2D)
                : undefined;
              const w = tf.randomNormal([b, s, d], 0, 1, 'float32', seed + 2);
              const ours = (xx: tf.Tensor) => tf.sum(tf.mul(f(params, { input: xx, ...(mask ? { attention_mask: mask } : {}) }) as tf.Tensor, w));
              const theirs = (xx: tf.Tensor) => tf.sum(tf.mul(reference(params, xx as tf.Tensor3D, heads, headSize, mask), w));
              const close = (a: tf.Tensor, r: tf.Tensor) => {
                const err = tf.max(tf.abs(tf.sub(a, r))).dataSync()[0] as number;
                const scale = 1 + (tf.max(tf.abs(r)).dataSync()[0] as number);
                expect(err / scale).toBeLessThan(1e-4);
              };
              close(ours(x), theirs(x));
              close(tf.grad(ours)(x), tf.grad(theirs)(x));
              const gOurs = tf.variableGrads(() => ours(x) as tf.Scalar, [params['attn.key.kernel'] as tf.Variable]).grads;
              const gRef = tf.variableGrads(() => theirs(x) as tf.Scalar, [params['attn.key.kernel'] as tf.Variable]).grads;
              close(Object.values(gOurs)[0] as tf.Tensor, Object.values(gRef)[0] as tf.Tensor);
            });
          } finally {
            Object.values(params).forEach((v) => v.dispose());
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('causal attention: shapes, FLOPs, codec, summary', () => {
  it('FLOPs equal the non-causal layer and the hand count (200 cases, pure)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), (heads, e, b, s) => {
        const d = heads * e;
        const causal = unwrap(flops(multiHeadAttention(d, heads, { causal: true }), tensorSig([b, s, d])));
        const plain = unwrap(flops(multiHeadAttention(d, heads), tensorSig([b, s, d])));
        // four projections (2·b·s·d·d + bias), scores and context (2·b·h·s·s·e each), 7 per score for scale/mask/softmax
        const hand = 4 * (2 * b * s * d * d + b * s * d) + 2 * (2 * b * heads * s * s * e) + 7 * b * heads * s * s;
        expect(causal).toBe(hand);
        expect(plain).toBe(hand);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts a [batch, seq] padding mask and a [batch, seq, seq] per-query mask; refuses a misfit', () => {
    const m = multiHeadAttention(8, 2, { causal: true });
    expect(unwrap(inferShape(m, tensorSig([2, 5, 8]), { attention_mask: tensorSig([2, 5], 'int32') }))).toEqual(tensorSig([2, 5, 8]));
    expect(unwrap(inferShape(m, tensorSig([2, 5, 8]), { attention_mask: tensorSig([2, 5, 5], 'int32') }))).toEqual(tensorSig([2, 5, 8]));
    const bad = inferShape(m, tensorSig([2, 5, 8]), { attention_mask: tensorSig([2, 4], 'int32') });
    expect(bad._tag).toBe('Left');
    const params = unwrap(init(m, 1));
    const f = unwrap(compile(m));
    tf.tidy(() => {
      const x = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 1);
      // a lower-triangular [b, s, s] mask is the causal mask: same result (same process, exact)
      const tri = tf.tile(tf.expandDims(tf.linalg.bandPart(tf.ones([3, 3], 'int32'), -1, 0), 0), [2, 1, 1]);
      const plain = unwrap(compile(multiHeadAttention(8, 2)));
      const a = (f(params, { input: x }) as tf.Tensor).arraySync();
      const c = (plain(params, { input: x, attention_mask: tri }) as tf.Tensor).arraySync();
      expect(c).toEqual(a);
    });
    Object.values(params).forEach((v) => v.dispose());
  });

  it('round-trips through JSON; non-causal JSON is unchanged (no causal field)', () => {
    const m = multiHeadAttention(8, 2, { causal: true });
    expect(unwrap(decodeModel(JSON.parse(JSON.stringify(encodeModel(m)))))).toEqual(m);
    expect(Object.keys(encodeModel(multiHeadAttention(8, 2)) as object)).not.toContain('causal');
    expect(decodeModel({ ...m, causal: 'yes' })._tag).toBe('Left');
    expect(unwrap(summary(m, tensorSig([1, 4, 8])))).toContain('attention 2×4 causal');
  });
});
