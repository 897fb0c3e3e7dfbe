/**
 * Small helpers shared by the primitive modules (defaults, codecs, FLOP costs).
 * @example
 * ```ts
 * const reference: Init = { kind: 'normal', std: 0.02 }; // what normal(0.02) returns
 * ```
 * @module
 */
import { ACTIVATIONS, type Activation } from '../activations.js';
import { oneOf, type Init } from '../primitive.js';
import { need } from '../sig.js';

/** The default std of normal initialisers when a layer asks for the reference (BERT) init. */
export const DEFAULT_STD = 0.02;

/** normal(0, std). */
export const normal = (std: number): Init => ({ kind: 'normal', std });
/** zeros. */
export const zeros: Init = { kind: 'zeros' };
/** ones. */
export const ones: Init = { kind: 'ones' };

/** The io-ts codec of an activation name. */
export const activationC = oneOf(ACTIVATIONS);

/** An error unless `fn` is a known activation. */
export const knownActivation = (fn: unknown): string | undefined =>
  need((ACTIVATIONS as readonly unknown[]).includes(fn), `unknown activation "${String(fn)}" (known: ${ACTIVATIONS.join(', ')})`);

/** FLOPs per element of each activation (a rough, documented count). */
export const ACT_COST: Readonly<Record<Activation, number>> = { identity: 0, relu: 1, tanh: 4, softmax: 5, gelu: 8, gelu_new: 10 };
