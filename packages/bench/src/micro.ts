/**
 * Micro-benchmarks of candidate compiler changes, measured in the bench run (forward + backward of
 * one op on albert-base shapes, variants interleaved): what `packages/dsl/src/compile.ts` does
 * today next to a cheaper formulation of the same math. They price a change before anyone makes
 * it; each variant is checked to give the same values and gradients first.
 *
 * @example
 * ```ts
 * const rows = await microBenchmarks({ repeats: 5 });
 * rows[0]; // { name: 'GELU (tanh) fwd+bwd [1024×3072]', variants: [{ name: 'autodiff … (before)', ms: {…} }, …] }
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { applyActivation, layerNormOp } from '@lamina/dsl';
import { summarize, type Summary } from './stats.js';

/** One variant's timings and its agreement with the first (reference) variant. */
export interface MicroVariant {
  readonly name: string;
  readonly ms: Summary;
  /** Max |difference| of output and input gradient vs the reference variant. */
  readonly maxAbsDiff: number;
}

/** One micro-benchmark. */
export interface MicroResult {
  readonly name: string;
  readonly shape: readonly number[];
  readonly variants: readonly MicroVariant[];
}

const C = Math.sqrt(2 / Math.PI);

/** GELU (tanh approximation) as `compile.ts` wrote it before 748a9e7: `pow`, autodiff. */
const geluPow = (x: tf.Tensor): tf.Tensor => {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), C);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
};

/** GELU (tanh approximation) with x·x·x instead of `pow` (same autodiff). */
const geluCube = (x: tf.Tensor): tf.Tensor => {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), C);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
};

/** LayerNorm as `compile.ts` wrote it before 748a9e7 (moments, autodiff). */
const lnCompiled = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
};

const maxDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);

/** Runs fwd+bwd of each variant on x, interleaved over repeats; returns ms summaries and agreement. */
const compare = async (name: string, x: tf.Tensor, variants: readonly { name: string; f: (x: tf.Tensor) => tf.Tensor }[], repeats: number): Promise<MicroResult> => {
  const dy = tf.randomNormal(x.shape, 0, 1, 'float32', 3);
  const run = (f: (x: tf.Tensor) => tf.Tensor) => tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x);
  const ref = run((variants[0] as { f: (x: tf.Tensor) => tf.Tensor }).f);
  const refY = tf.tidy(() => (variants[0] as { f: (x: tf.Tensor) => tf.Tensor }).f(x));
  const diffs = variants.map((v) => {
    const r = run(v.f);
    const y = tf.tidy(() => v.f(x));
    const d = Math.max(maxDiff(y, refY), maxDiff(r.grad, ref.grad));
    tf.dispose([r.value, r.grad, y]);
    return d;
  });
  tf.dispose([ref.value, ref.grad, refY]);
  const ms: number[][] = variants.map(() => []);
  for (let i = 0; i < repeats; i++)
    for (const [j, v] of variants.entries()) {
      const t0 = performance.now();
      const r = run(v.f);
      await r.grad.data();
      (ms[j] as number[]).push(performance.now() - t0);
      tf.dispose([r.value, r.grad]);
    }
  dy.dispose();
  return { name, shape: x.shape, variants: variants.map((v, j) => ({ name: v.name, ms: summarize(ms[j] as number[]), maxAbsDiff: diffs[j] as number })) };
};

/**
 * GELU and LayerNorm forward + backward at albert-base's shapes (`[B·S, I]` = `[1024, 3072]` and
 * `[1024, 768]`), the variants interleaved over `repeats`.
 */
export const microBenchmarks = async (o: { repeats: number; rows?: number }): Promise<MicroResult[]> => {
  const n = o.rows ?? 1024;
  const out: MicroResult[] = [];
  const xg = tf.randomNormal([n, 3072], 0, 1, 'float32', 1);
  out.push(
    await compare(
      `GELU (tanh approximation, gelu_new) forward + backward`,
      xg,
      [
        { name: 'autodiff of the formula with tf.pow (compile.ts before 748a9e7)', f: geluPow },
        { name: 'x·x·x instead of pow (autodiff)', f: geluCube },
        { name: 'analytic gradient, saves x and tanh (compile.ts since 748a9e7)', f: (x) => applyActivation('gelu_new', x) },
      ],
      o.repeats,
    ),
  );
  xg.dispose();
  const xl = tf.randomNormal([n, 768], 0, 1, 'float32', 2);
  const g = tf.randomNormal([768], 1, 0.1, 'float32', 4);
  const b = tf.randomNormal([768], 0, 0.1, 'float32', 5);
  out.push(
    await compare(
      'LayerNorm forward + backward (gradient w.r.t. x)',
      xl,
      [
        { name: 'moments + autodiff (compile.ts before 748a9e7)', f: (x) => lnCompiled(x, g, b, 1e-12) },
        { name: 'analytic gradient (compile.ts since 748a9e7)', f: (x) => layerNormOp(x, g, b, 1e-12) },
      ],
      o.repeats,
    ),
  );
  tf.dispose([xl, g, b]);
  return out;
};
