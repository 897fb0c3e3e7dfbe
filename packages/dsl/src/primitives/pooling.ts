/**
 * Pooling over the sequence axis: `firstToken` (the `[CLS]` position).
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
import type { Primitive } from '../primitive.js';
import { sequence, tensorSig, type TensorSig } from '../sig.js';

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
