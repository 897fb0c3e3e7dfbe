/**
 * Pooling over the sequence axis: `firstToken` (the `[CLS]` position), and masked `meanPool` /
 * `maxPool`, which leave out the positions the attention mask marks as padding.
 * @example
 * ```ts
 * seq(firstToken, dense(768, 768, { activation: 'tanh' })); // BERT's pooler
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Layer, Same } from '../layer.js';
import { oneOf, type Primitive } from '../primitive.js';
import { dimsMatch, elems, need, sequence, showShape, sideInput, tensorSig, type SideInputSpec, type TensorSig } from '../sig.js';

/** The value of {@link firstToken}. */
export interface FirstTokenNode {
  readonly kind: 'firstToken';
}

/**
 * Pools the first token: `[batch, seq, dim] → [batch, dim]`.
 * @example seq(firstToken, dense(768, 768, { activation: 'tanh' }))
 */
export const firstToken: Layer<Same, Same> = { kind: 'firstToken' };

/** The firstToken primitive. */
export const firstTokenPrimitive: Primitive<FirstTokenNode> = {
  kind: 'firstToken',
  check: () => undefined,
  shape: (_n, x) => E.map((s: TensorSig) => tensorSig([s.shape[0] ?? null, s.shape[2] ?? null]))(sequence(x, null)),
  params: () => [],
  sideInputs: () => [],
  compile: () => (x) => tf.squeeze(tf.slice(x, [0, 0, 0], [-1, 1, -1]), [1]),
  flops: () => 0,
  label: () => 'firstToken',
  codec: t.strict({ kind: t.literal('firstToken') }),
};

/** The value of {@link meanPool} and {@link maxPool}. */
export interface PoolNode {
  readonly kind: 'pool';
  readonly op: 'mean' | 'max';
  /** Side input with the 0/1 mask `[batch, seq]` (positions with 0 are left out), or null: every position counts. */
  readonly maskInput: string | null;
}

/** Options of {@link meanPool} and {@link maxPool}. */
export interface PoolOptions {
  /** The 0/1 mask side input (default `attention_mask`; absent at run time: every position counts). */
  readonly maskInput?: string | null;
}

/**
 * Masked mean over the sequence: `[batch, seq, dim] → [batch, dim]`,
 * `Σ_t m_t·x_t / max(1, Σ_t m_t)` (a row with no valid position gives zeros).
 * @example seq(conv1d(8, 16, 3, { padding: 'same', activation: 'relu' }), meanPool(), dense(16, 2))
 */
export const meanPool = (opts: PoolOptions = {}): Layer<Same, Same> => ({ kind: 'pool', op: 'mean', maskInput: opts.maskInput === undefined ? 'attention_mask' : opts.maskInput });

/**
 * Masked max over the sequence: `[batch, seq, dim] → [batch, dim]`, the max over valid
 * positions only (a row with no valid position gives zeros).
 * @example seq(conv1d(8, 16, 3, { padding: 'same', activation: 'relu' }), maxPool(), dense(16, 2))
 */
export const maxPool = (opts: PoolOptions = {}): Layer<Same, Same> => ({ kind: 'pool', op: 'max', maskInput: opts.maskInput === undefined ? 'attention_mask' : opts.maskInput });

const poolMask = (name: string): SideInputSpec => ({ name, dtype: 'any', ranks: [2], required: false, what: '0/1 attention mask [batch, seq]' });

/** The pool primitive (FLOPs: mean 2 per input element, max 2 per input element with a mask, else 1). */
export const poolPrimitive: Primitive<PoolNode> = {
  kind: 'pool',
  check: (n) => need(n.op === 'mean' || n.op === 'max', `op must be "mean" or "max", got ${JSON.stringify(n.op)}`) ?? need(n.maskInput !== '', 'maskInput must not be empty'),
  shape: (n, x, env) =>
    E.chain((s: TensorSig) =>
      E.chain((m: TensorSig | undefined): E.Either<string, TensorSig> =>
        m && !dimsMatch(m.shape[1], s.shape[1])
          ? E.left(`side input "${n.maskInput}" ${showShape(m.shape)} does not fit the sequence length of the stream ${showShape(s.shape)}`)
          : E.right(tensorSig([s.shape[0] ?? null, s.shape[2] ?? null])),
      )(n.maskInput === null ? E.right(undefined) : sideInput(env.side, poolMask(n.maskInput), s)),
    )(sequence(x, null)),
  params: () => [],
  sideInputs: (n) => (n.maskInput === null ? [] : [poolMask(n.maskInput)]),
  compile: (n) => {
    const { op, maskInput } = n;
    return (x, rt) => {
      const raw = maskInput === null ? undefined : rt.side[maskInput];
      if (!raw) return op === 'mean' ? tf.mean(x, 1) : tf.max(x, 1);
      const m = tf.expandDims(tf.cast(raw, 'float32'), -1); // [b, s, 1]
      if (op === 'mean') return tf.div(tf.sum(tf.mul(x, m), 1), tf.maximum(tf.sum(m, 1), 1));
      const any = tf.cast(tf.greater(tf.sum(m, 1), 0), 'float32'); // [b, 1]
      const best = tf.max(tf.where(tf.greater(m, 0), x, tf.fill(x.shape, -3.4e38)), 1);
      return tf.mul(tf.where(tf.greater(any, 0), best, tf.zerosLike(best)), any);
    };
  },
  flops: (n, x) => (n.op === 'mean' || n.maskInput !== null ? 2 : 1) * elems(x),
  label: (n) => `${n.op} pool${n.maskInput === null ? '' : ' (masked)'}`,
  codec: t.strict({ kind: t.literal('pool'), op: oneOf(['mean', 'max'] as const), maskInput: t.union([t.string, t.null]) }),
};
