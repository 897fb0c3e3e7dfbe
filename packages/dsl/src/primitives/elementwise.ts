/**
 * Shape-preserving primitives without parameters: `identity`, `activation(fn)` (and its named
 * instances `relu`, `gelu`, …) and `dropout(rate)`.
 * @example
 * ```ts
 * seq(dense(4, 8), relu, dropout(0.1), dense(8, 2));
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Activation } from '../activations.js';
import { applyActivation } from '../kernels.js';
import type { Layer, Same } from '../layer.js';
import type { Primitive } from '../primitive.js';
import { applyDropout } from '../runtime.js';
import { elems, rateIn } from '../sig.js';
import { ACT_COST, activationC, knownActivation } from './common.js';

/** The value of {@link identity}. */
export interface IdentityNode {
  readonly kind: 'identity';
}
/** The identity layer. */
export const identity: Layer<Same, Same> = { kind: 'identity' };

/** The identity primitive. */
export const identityPrimitive: Primitive<IdentityNode> = {
  kind: 'identity',
  check: () => undefined,
  shape: (_n, x) => E.right(x),
  params: () => [],
  sideInputs: () => [],
  compile: () => (x) => x,
  flops: () => 0,
  label: () => 'identity',
  codec: t.strict({ kind: t.literal('identity') }),
};

/** The value of {@link activation}. */
export interface ActivationNode {
  readonly kind: 'activation';
  readonly fn: Activation;
}

/**
 * An element-wise activation (`softmax` over the last axis).
 * @example activation('gelu_new')
 */
export const activation = (fn: Activation): Layer<Same, Same> => ({ kind: 'activation', fn });
/** Exact GELU, `0.5·x·(1 + erf(x/√2))`. */
export const gelu: Layer<Same, Same> = activation('gelu');
/** Tanh-approximate GELU (`gelu_new` in Hugging Face), `0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))`. */
export const geluTanh: Layer<Same, Same> = activation('gelu_new');
/** `max(0, x)`. */
export const relu: Layer<Same, Same> = activation('relu');
/** `tanh(x)`. */
export const tanh: Layer<Same, Same> = activation('tanh');
/** Softmax over the last axis. */
export const softmax: Layer<Same, Same> = activation('softmax');

/** The activation primitive. */
export const activationPrimitive: Primitive<ActivationNode> = {
  kind: 'activation',
  check: (n) => knownActivation(n.fn),
  shape: (_n, x) => (x.dtype === 'float32' ? E.right(x) : E.left('expected float32 features, got int32 ids')),
  params: () => [],
  sideInputs: () => [],
  compile: (n) => {
    const fn = n.fn;
    return (x) => applyActivation(fn, x);
  },
  flops: (n, _x, y) => ACT_COST[n.fn] * elems(y),
  label: (n) => n.fn,
  codec: t.strict({ kind: t.literal('activation'), fn: activationC }),
};

/** The value of {@link dropout}. */
export interface DropoutNode {
  readonly kind: 'dropout';
  readonly rate: number;
}

/**
 * Dropout with the given rate (training only; identity in eval mode).
 * @example dropout(0.1)
 */
export const dropout = (rate: number): Layer<Same, Same> => ({ kind: 'dropout', rate });

/** The dropout primitive. */
export const dropoutPrimitive: Primitive<DropoutNode> = {
  kind: 'dropout',
  check: (n) => rateIn('rate', n.rate),
  shape: (_n, x) => E.right(x),
  params: () => [],
  sideInputs: () => [],
  compile: (n) => {
    const rate = n.rate;
    return (x, rt) => applyDropout(x, rate, rt);
  },
  flops: () => 0,
  label: (n) => `dropout ${n.rate}`,
  codec: t.strict({ kind: t.literal('dropout'), rate: t.number }),
};
