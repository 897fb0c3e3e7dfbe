/**
 * `transposeSeq`: swaps the sequence and feature axes, `[batch, seq, dim] → [batch, dim, seq]`,
 * so a dense layer mixes tokens instead of features (MLP-Mixer's token mixing). Shape inference
 * tracks the sequence length into the feature axis, so the dense after it is checked against it.
 * @example
 * ```ts
 * const S = 16, D = 32;
 * residual(seq(layerNorm(D), transposeSeq, dense(S, 64, { activation: 'gelu' }), dense(64, S), transposeSeq));
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Layer } from '../layer.js';
import type { Primitive } from '../primitive.js';
import { sequence, tensorSig, type TensorSig } from '../sig.js';

/** The value of {@link transposeSeq}. */
export interface TransposeNode {
  readonly kind: 'transpose';
}

/**
 * Swaps the sequence and feature axes: `[batch, seq, dim] → [batch, dim, seq]` (its own inverse).
 * Its dims are `number` at the type level: the new feature width is the sequence length.
 * @example seq(transposeSeq, dense(16, 16), transposeSeq)
 */
export const transposeSeq: Layer<number, number> = { kind: 'transpose' };

/** The transpose primitive (no FLOPs: a data movement). */
export const transposePrimitive: Primitive<TransposeNode> = {
  kind: 'transpose',
  check: () => undefined,
  shape: (_n, x) => E.map((s: TensorSig) => tensorSig([s.shape[0] ?? null, s.shape[2] ?? null, s.shape[1] ?? null]))(sequence(x, null)),
  params: () => [],
  sideInputs: () => [],
  compile: () => (x) => tf.transpose(x, [0, 2, 1]),
  flops: () => 0,
  label: () => 'transpose (seq ↔ features)',
  codec: t.strict({ kind: t.literal('transpose') }),
};
