/**
 * The tfjs kernels primitives are compiled to: activations (GELU variants with hand-written
 * gradients), the fused linear map and LayerNorm with a hand-written gradient.
 *
 * @example
 * ```ts
 * const y = linear(tf.ones([2, 4]), tf.ones([4, 3]), tf.zeros([3]), 'relu'); // [2, 3]
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import type { Activation } from './activations.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_C = 0.044715;

type Unary = (x: tf.Tensor) => tf.Tensor;
const unaryWithGrad = (f: (x: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor }): Unary =>
  tf.customGrad(f as never) as unknown as Unary;

/**
 * Tanh-approximate GELU with a hand-written gradient that keeps only x and tanh(u): autodiff of
 * the formula (with `pow`) cost ~10% of an ALBERT-base step (see BENCHMARKS.md).
 */
export const geluTanhOp: Unary = unaryWithGrad((x, save) => {
  const t = tf.tanh(tf.mul(tf.mul(x, tf.add(1, tf.mul(tf.square(x), GELU_C))), SQRT_2_OVER_PI));
  save([x, t]);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(1, t)),
    gradFunc: (dy, [xs, ts]) => {
      const x0 = xs as tf.Tensor;
      const t0 = ts as tf.Tensor;
      const du = tf.mul(tf.add(1, tf.mul(tf.square(x0), 3 * GELU_C)), SQRT_2_OVER_PI);
      const d = tf.add(tf.mul(tf.add(1, t0), 0.5), tf.mul(tf.mul(tf.mul(x0, 0.5), tf.sub(1, tf.square(t0))), du));
      return tf.mul(dy, d);
    },
  };
});

/** Exact GELU `x·Φ(x)` with the gradient `Φ(x) + x·φ(x)` written out. */
export const geluOp: Unary = unaryWithGrad((x, save) => {
  const cdf = tf.mul(tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))), 0.5);
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy, [xs, cs]) => {
      const x0 = xs as tf.Tensor;
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(x0), -0.5)), INV_SQRT_2PI);
      return tf.mul(dy, tf.add(cs as tf.Tensor, tf.mul(x0, pdf)));
    },
  };
});

/** Applies an activation function. */
export const applyActivation = (fn: Activation, x: tf.Tensor): tf.Tensor => {
  switch (fn) {
    case 'identity':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softmax':
      return tf.softmax(x);
    case 'gelu':
      return geluOp(x);
    case 'gelu_new':
      return geluTanhOp(x);
  }
};

/**
 * `x · w + b` over the last axis of a tensor of any rank ≥ 2, with an optional fused activation. */
export const linear = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | undefined, act: Activation = 'identity'): tf.Tensor => {
  const inDim = x.shape[x.shape.length - 1] as number;
  const outDim = w.shape[1] as number;
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const fusable = act === 'relu' || act === 'identity';
  let y: tf.Tensor = tf.fused.matMul({
    a: x2,
    b: w as tf.Tensor2D,
    ...(b ? { bias: b } : {}),
    activation: act === 'relu' ? 'relu' : 'linear',
  });
  if (!fusable) y = applyActivation(act, y);
  return x.rank === 2 ? y : tf.reshape(y, [...lead, outDim]);
};

/**
 * LayerNorm over the last axis with a hand-written gradient for x, γ and β:
 * `dx = r·(g − mean(g) − x̂·mean(g·x̂))` with `g = dy·γ`, `dγ = Σ dy·x̂`, `dβ = Σ dy`.
 */
export const layerNormOp = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor =>
  (
    tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const { mean, variance } = tf.moments(xi, -1, true);
      const r = tf.rsqrt(tf.add(variance, eps));
      const xhat = tf.mul(tf.sub(xi, mean), r);
      save([xhat, r, g]);
      return {
        value: tf.add(tf.mul(xhat, g), b),
        gradFunc: (dy: tf.Tensor, [xh, rr, gg]: tf.Tensor[]) => {
          const xhat0 = xh as tf.Tensor;
          const gy = tf.mul(dy, gg as tf.Tensor);
          const m1 = tf.mean(gy, -1, true);
          const m2 = tf.mean(tf.mul(gy, xhat0), -1, true);
          const dx = tf.mul(tf.sub(tf.sub(gy, m1), tf.mul(xhat0, m2)), rr as tf.Tensor);
          const lead = Array.from({ length: dy.rank - 1 }, (_, i) => i);
          return [dx, tf.sum(tf.mul(dy, xhat0), lead), tf.sum(dy, lead)];
        },
      };
    }) as never) as unknown as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor
  )(x, gamma, beta);

