/**
 * The activation functions, a leaf module shared by layer values, codecs and kernels.
 * @example
 * ```ts
 * ACTIVATIONS.includes('relu'); // true
 * ```
 * @module
 */

/** Activation functions. `gelu` is exact (erf); `gelu_new` is the tanh approximation. */
export const ACTIVATIONS = ['identity', 'gelu', 'gelu_new', 'relu', 'tanh', 'softmax'] as const;
/** One of {@link ACTIVATIONS}. */
export type Activation = (typeof ACTIVATIONS)[number];
