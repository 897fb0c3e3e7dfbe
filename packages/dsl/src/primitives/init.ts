/**
 * Default initialisers, per kind and activation, and the helpers to name one explicitly.
 *
 * A kernel feeding a ReLU-family activation (`relu`, `gelu`, `gelu_new`) defaults to He normal
 * (`std = √(2/fanIn)`), which keeps activations from shrinking layer after layer; any other
 * kernel to Glorot uniform (`limit = √(6/(fanIn+fanOut))`), Keras' default. Embedding tables
 * default to normal(0, 0.02). Layers built with `initStd` (as ALBERT/BERT/GPT-2 are) keep their
 * reference normal(0, std) exactly.
 *
 * @example
 * ```ts
 * dense(64, 64, { activation: 'relu' });            // kernel: He normal, std √(2/64)
 * dense(64, 64, { init: heNormal(64) });             // the same, said explicitly
 * dense(64, 64, { initStd: 0.02 });                  // BERT's normal(0, 0.02)
 * ```
 * @module
 */
import * as t from 'io-ts';
import type { Activation } from '../activations.js';
import type { Init } from '../primitive.js';

/**
 * He normal for a fan-in: normal(0, √(2/fanIn)).
 * @example heNormal(64) // { kind: 'normal', std: 0.1767… }
 */
export const heNormal = (fanIn: number): Init => ({ kind: 'normal', std: Math.sqrt(2 / fanIn) });

/**
 * Glorot (Xavier) uniform: uniform(-√(6/(fanIn+fanOut)), +…).
 * @example glorotUniform(64, 64) // { kind: 'uniform', limit: 0.2165… }
 */
export const glorotUniform = (fanIn: number, fanOut: number): Init => ({ kind: 'uniform', limit: Math.sqrt(6 / (fanIn + fanOut)) });

const RELU_LIKE: readonly Activation[] = ['relu', 'gelu', 'gelu_new'];

/**
 * The default initialiser of a kernel with this fan-in/fan-out followed by `act`.
 * @example defaultKernelInit('relu', 64, 128) // He normal
 */
export const defaultKernelInit = (act: Activation, fanIn: number, fanOut: number): Init =>
  RELU_LIKE.includes(act) ? heNormal(fanIn) : glorotUniform(fanIn, fanOut);

/** The io-ts codec of {@link Init}. */
export const initC: t.Type<Init, unknown> = t.union([
  t.strict({ kind: t.literal('normal'), std: t.number }),
  t.strict({ kind: t.literal('uniform'), limit: t.number }),
  t.strict({ kind: t.literal('zeros') }),
  t.strict({ kind: t.literal('ones') }),
]) as unknown as t.Type<Init, unknown>;
