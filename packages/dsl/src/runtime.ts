/**
 * What a compiled model's kernels see at run time: the parameter store, the side inputs, the
 * training flag and dropout seeding, and the per-call cache of attention masks.
 *
 * @example
 * ```ts
 * const rt: Runtime = { params: store, side: { attention_mask: mask }, training: false, seed: 0, dropoutCalls: 0, masks: new Map(), step: 0 };
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';

/** A parameter store as the compiled function reads it: path → tensor (variables are tensors). */
export type Params = Readonly<Record<string, tf.Tensor>>;

/** The state of one call of a compiled model. */
export interface Runtime {
  readonly params: Params;
  readonly side: Readonly<Record<string, tf.Tensor>>;
  readonly training: boolean;
  readonly seed: number;
  /** When set (native backend), dropout masks come from TensorFlow's stateless op seeded by this tensor. */
  readonly seedTensor?: tf.Tensor | undefined;
  dropoutCalls: number;
  readonly masks: Map<string, tf.Tensor>;
  /** The current application of the innermost `repeat` (0 outside one), read by step signals. */
  step: number;
}

/**
 * The parameter at `path` (a missing one is a bug of the caller's store: `checkParams` finds it first).
 * @example param(rt, 'dense_0.kernel')
 */
export const param = (rt: Runtime, path: string): tf.Tensor => {
  const p = rt.params[path];
  if (p === undefined) throw new Error(`missing parameter "${path}"`);
  return p;
};

/** Additive score mask from a 0/1 side input: `[b, s]` → `[b, 1, 1, s]`, `[b, s, s]` → `[b, 1, s, s]`. */
export const additiveMask = (rt: Runtime, name: string): tf.Tensor | undefined => {
  const cached = rt.masks.get(name);
  if (cached) return cached;
  const m = rt.side[name];
  if (!m) return undefined;
  const add = tf.mul(tf.sub(1, tf.cast(m, 'float32')), -1e9);
  const shaped = m.rank === 3 ? tf.expandDims(add, 1) : tf.reshape(add, [m.shape[0] as number, 1, 1, m.shape[1] as number]);
  rt.masks.set(name, shaped);
  return shaped;
};

/** Added to the scores of future keys: far below the padding mask's -1e9, so padding never lets the future in. */
const CAUSAL_NEG = -1e30;

/** The causal additive mask `[1, 1, s, s]` (0 on and below the diagonal, -1e30 above), once per call and length. */
export const causalMask = (rt: Runtime, s: number): tf.Tensor => {
  const key = `\u0000causal:${s}`;
  const cached = rt.masks.get(key);
  if (cached) return cached;
  const lower = tf.linalg.bandPart(tf.ones([s, s]), -1, 0);
  const add = tf.reshape(tf.mul(tf.sub(1, lower), CAUSAL_NEG), [1, 1, s, s]);
  rt.masks.set(key, add);
  return add;
};

/** The mask added to one attention layer's scores: padding, causal, both (summed once per call) or none. */
export const scoreMask = (rt: Runtime, maskInput: string | null, causal: boolean, s: number): tf.Tensor | undefined => {
  const pad = maskInput === null ? undefined : additiveMask(rt, maskInput);
  if (!causal) return pad;
  const c = causalMask(rt, s);
  if (!pad) return c;
  const key = `\u0000causal:${s}+${maskInput}`;
  const cached = rt.masks.get(key);
  if (cached) return cached;
  const both = tf.add(pad, c);
  rt.masks.set(key, both);
  return both;
};

export const dropoutSeed = (rt: Runtime): number => {
  rt.dropoutCalls += 1;
  // A fresh, deterministic seed per dropout call in one forward pass.
  return ((rt.seed * 1000003) ^ (rt.dropoutCalls * 2654435761)) >>> 0;
};

export const applyDropout = (x: tf.Tensor, rate: number, rt: Runtime): tf.Tensor => {
  if (!(rt.training && rate > 0)) return x;
  if (rt.seedTensor) {
    rt.dropoutCalls += 1;
    return statelessDropout(x, rate, rt.seedTensor, rt.dropoutCalls);
  }
  return tf.dropout(x, rate, undefined, dropoutSeed(rt));
};

/**
 * Dropout with TensorFlow's `StatelessRandomUniform`: the mask is a pure function of the seed
 * tensor (plus the call's index), as tfjs's `dropout` computes it: `x · ⌊u + keep⌋ / keep`.
 * @example statelessDropout(x, 0.1, tf.tensor1d([7, 0], 'int32'), 1)
 */
export const statelessDropout = (x: tf.Tensor, rate: number, seed: tf.Tensor, call: number): tf.Tensor => {
  const backend = tf.backend() as unknown as {
    binding?: { TF_ATTR_TYPE: number; TF_FLOAT: number; TF_INT32: number };
    executeSingleOutput?: (name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.Tensor[]) => tf.Tensor;
  };
  const b = backend.binding;
  if (!b || !backend.executeSingleOutput) throw new Error('dropout with a seed tensor needs the native TensorFlow backend');
  const callSeed = tf.add(seed, tf.tensor1d([0, call], 'int32'));
  const u = backend.executeSingleOutput('StatelessRandomUniform', [
    { name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_INT32 },
    { name: 'Tseed', type: b.TF_ATTR_TYPE, value: b.TF_INT32 },
  ], [tf.tensor1d(x.shape, 'int32'), callSeed]);
  const keep = 1 - rate;
  return tf.mul(x, tf.div(tf.floor(tf.add(u, keep)), keep));
};

