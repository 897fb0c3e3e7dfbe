/**
 * `bias(dim)`: a learned offset added to every position, `x + b` (a learned constant: on zeros
 * it outputs `b`). The worked example of the DSL README's "Adding a primitive".
 * @example
 * ```ts
 * seq(dense(8, 8, { bias: false }), bias(8)); // the same function as dense(8, 8)
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as t from 'io-ts';
import type { Layer } from '../layer.js';
import { joinPath } from '../paths.js';
import type { Primitive } from '../primitive.js';
import { param } from '../runtime.js';
import { elems, features, positive, tensorSig } from '../sig.js';
import { zeros } from './common.js';

/** The value of {@link bias}. */
export interface BiasNode {
  readonly kind: 'bias';
  readonly dim: number;
}

/**
 * Adds a learned vector to the last axis: `[..., dim] → [..., dim]`, `x + b`.
 * Parameter: `bias [dim]` (zeros, no weight decay).
 * @example bias(768)
 */
export const bias = <D extends number>(dim: D): Layer<D, D> => ({ kind: 'bias', dim });

/** The bias primitive (FLOPs: one add per element). */
export const biasPrimitive: Primitive<BiasNode> = {
  kind: 'bias',
  check: (n) => positive('dim', n.dim),
  shape: (n, x) => features(x, n.dim),
  params: (n) => [{ name: 'bias', shape: [n.dim], init: zeros, decay: false }],
  sideInputs: () => [],
  compile: (_n, env) => {
    const b = joinPath(env.prefix, 'bias');
    return (x, rt) => tf.add(x, param(rt, b));
  },
  flops: (_n, _x, y) => elems(y),
  label: (n) => `bias ${n.dim}`,
  codec: t.strict({ kind: t.literal('bias'), dim: t.number }),
  input: (n) => tensorSig([null, n.dim]),
};
