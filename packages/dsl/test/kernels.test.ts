// The hand-written gradients of GELU (exact and tanh) and LayerNorm equal autodiff of their plain
// formulas (property over random shapes and values, 100 cases each).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { geluOp, geluTanhOp, layerNormOp } from '../src/index.js';

const plainGeluTanh = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)))));
const plainGelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
const plainLayerNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
};
const maxRel = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => (tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number) / Math.max(1, tf.max(tf.abs(b)).dataSync()[0] as number));

const shapes = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 9 }));

describe('hand-written gradients equal autodiff of the formulas', () => {
  it.each([
    ['gelu_new', geluTanhOp, plainGeluTanh],
    ['gelu', geluOp, plainGelu],
  ] as const)('%s', (_, fast, plain) => {
    fc.assert(
      fc.property(shapes, fc.integer({ min: 0, max: 1e6 }), ([a, b, c], seed) => {
        tf.tidy(() => {
          const x = tf.randomNormal([a, b, c], 0, 3, 'float32', seed);
          const dy = tf.randomNormal([a, b, c], 0, 1, 'float32', seed + 1);
          expect(maxRel(fast(x), plain(x))).toBeLessThan(1e-5);
          const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(fast(t), dy)))(x);
          const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(plain(t), dy)))(x);
          expect(maxRel(g1, g2)).toBeLessThan(1e-4);
        });
      }),
      { numRuns: 100 },
    );
  });

  it('layerNorm: value and the gradients of x, gamma and beta', () => {
    fc.assert(
      fc.property(shapes, fc.integer({ min: 0, max: 1e6 }), ([a, b, c], seed) => {
        tf.tidy(() => {
          const x = tf.randomNormal([a, b, c], 1, 2, 'float32', seed);
          const g = tf.randomNormal([c], 1, 0.5, 'float32', seed + 1);
          const be = tf.randomNormal([c], 0, 0.5, 'float32', seed + 2);
          const dy = tf.randomNormal([a, b, c], 0, 1, 'float32', seed + 3);
          expect(maxRel(layerNormOp(x, g, be, 1e-6), plainLayerNorm(x, g, be, 1e-6))).toBeLessThan(1e-5);
          const f = (ln: typeof layerNormOp) => tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(ln(xi, gi, bi, 1e-6), dy)))([x, g, be]);
          const fast = f(layerNormOp);
          const plain = f(plainLayerNorm);
          fast.forEach((t, i) => expect(maxRel(t, plain[i] as tf.Tensor), `grad ${i}`).toBeLessThan(1e-3));
        });
      }),
      { numRuns: 100 },
    );
  });
});
