/**
 * Gradient utilities: global-norm clipping and accumulation over micro-batches.
 *
 * Ownership rule: functions here never dispose the gradients you pass in, except the running
 * sum given to {@link accumulate} and {@link average}, which they consume.
 * @module
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Gradients keyed by parameter path.
 * @example const g: GradMap = { 'pooler.bias': tf.ones([4]) };
 */
export type GradMap = Readonly<Record<string, tf.Tensor>>;

/**
 * Result of {@link clipByGlobalNorm}.
 * @example const { grads, norm }: Clipped = clipByGlobalNorm(raw, 1.0);
 */
export interface Clipped {
  /** The clipped gradients (new tensors, owned by the caller). */
  readonly grads: Record<string, tf.Tensor>;
  /** The global norm before clipping, as a scalar tensor (owned by the caller). */
  readonly norm: tf.Scalar;
}

/**
 * Scales all gradients by `maxNorm / max(globalNorm, maxNorm)`, where globalNorm is the L2 norm
 * of all gradients concatenated — TensorFlow's `tf.clip_by_global_norm`, used by ALBERT with
 * `clip_norm=1.0`. The norm stays on the device (read it with `await norm.data()` only when
 * logging). A non-finite norm yields non-finite gradients, as in TensorFlow, so a NaN is never
 * hidden. Inputs are not disposed.
 *
 * @example
 * ```ts
 * const { grads: clipped, norm } = clipByGlobalNorm({ w: tf.tensor1d([3, 4]) }, 1);
 * // clipped.w ≈ [0.6, 0.8]; norm = 5
 * ```
 */
export const clipByGlobalNorm = (grads: GradMap, maxNorm: number): Clipped =>
  tf.tidy(() => {
    const keys = Object.keys(grads);
    const sumSq = keys.reduce<tf.Scalar>((acc, k) => tf.add(acc, tf.sum(tf.square(grads[k] as tf.Tensor))), tf.scalar(0));
    const norm = tf.sqrt(sumSq) as tf.Scalar;
    const scale = tf.div(maxNorm, tf.maximum(norm, maxNorm));
    const out: Record<string, tf.Tensor> = {};
    for (const k of keys) out[k] = tf.mul(grads[k] as tf.Tensor, scale);
    return { grads: out, norm };
  });

/**
 * The global L2 norm of a gradient map as a scalar tensor (owned by the caller).
 * @example globalNorm({ a: tf.tensor1d([3]), b: tf.tensor1d([4]) }) // scalar 5
 */
export const globalNorm = (grads: GradMap): tf.Scalar =>
  tf.tidy(() => tf.sqrt(Object.values(grads).reduce<tf.Scalar>((acc, g) => tf.add(acc, tf.sum(tf.square(g))), tf.scalar(0))) as tf.Scalar);

const checkSameKeys = (sum: GradMap, grads: GradMap): void => {
  const a = Object.keys(sum).sort();
  const b = Object.keys(grads).sort();
  if (a.length !== b.length || a.some((k, i) => k !== b[i]))
    throw new Error(`accumulate: gradient paths differ between micro-batches ([${a.join(', ')}] vs [${b.join(', ')}])`);
};

/**
 * Adds one micro-batch's gradients to a running sum. `sum` (if any) is consumed (disposed);
 * `grads` is not — dispose it yourself. With `sum === undefined` the result is a copy of `grads`.
 * Throws on a programmer error: the two maps have different paths.
 *
 * @example
 * ```ts
 * const forward = unwrap(compile(model));
 * let sum: Record<string, tf.Tensor> | undefined;
 * for (const batch of microBatches) {
 *   const { value, grads } = valueAndGrads(() => tf.mean(tf.square(forward(params, batch) as tf.Tensor)), params); // by path
 *   sum = accumulate(sum, grads);
 *   tf.dispose([value, ...Object.values(grads)]);
 * }
 * const mean = average(sum!, microBatches.length); // = large-batch gradient for a mean loss
 * ```
 */
export const accumulate = (sum: GradMap | undefined, grads: GradMap): Record<string, tf.Tensor> => {
  if (sum === undefined) {
    const out: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) out[k] = tf.clone(g);
    return out;
  }
  checkSameKeys(sum, grads);
  const out = tf.tidy(() => {
    const o: Record<string, tf.Tensor> = {};
    for (const [k, s] of Object.entries(sum)) o[k] = tf.add(s, grads[k] as tf.Tensor);
    return o;
  });
  tf.dispose(Object.values(sum));
  return out;
};

/**
 * Divides an accumulated sum by the number of micro-batches, consuming (disposing) `sum`.
 * @example const mean = average(sum, 4);
 */
export const average = (sum: GradMap, count: number): Record<string, tf.Tensor> => {
  if (!(Number.isInteger(count) && count > 0)) throw new Error(`average: count must be a positive integer, got ${count}`);
  const out = tf.tidy(() => {
    const o: Record<string, tf.Tensor> = {};
    for (const [k, s] of Object.entries(sum)) o[k] = tf.div(s, count);
    return o;
  });
  tf.dispose(Object.values(sum));
  return out;
};

/**
 * Loss value and gradients of `loss` with respect to `params`, keyed by parameter **path** (tfjs's
 * `tf.variableGrads` keys by variable name, which need not be the path). Both results are owned by
 * the caller.
 *
 * @example
 * ```ts
 * const { value, grads } = valueAndGrads(() => tf.mean(tf.square(params['lin.kernel'])), params);
 * opt.step(params, grads, lr);
 * tf.dispose([value, ...Object.values(grads)]);
 * ```
 */
export const valueAndGrads = (
  loss: () => tf.Scalar,
  params: Readonly<Record<string, tf.Variable>>,
): { value: tf.Scalar; grads: Record<string, tf.Tensor> } => {
  const entries = Object.entries(params);
  const { value, grads } = tf.variableGrads(loss, entries.map(([, v]) => v));
  const out: Record<string, tf.Tensor> = {};
  for (const [path, v] of entries) {
    const g = grads[v.name];
    if (g !== undefined) out[path] = g;
  }
  return { value, grads: out };
};
