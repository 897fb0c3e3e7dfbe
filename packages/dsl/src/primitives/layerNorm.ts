/**
 * `layerNorm(dim, eps)`: normalisation over the last axis, with learned scale and offset.
 * @example
 * ```ts
 * layerNorm(768, 1e-12); // Layer<768, 768>: gamma [768] (ones), beta [768] (zeros)
 * ```
 * @module
 */
import * as t from 'io-ts';
import { layerNormOp } from '../kernels.js';
import type { Layer } from '../layer.js';
import { joinPath } from '../paths.js';
import type { Primitive } from '../primitive.js';
import { param } from '../runtime.js';
import { elems, features, need, positive, tensorSig } from '../sig.js';
import { ones, zeros } from './common.js';

/** The value of {@link layerNorm}. */
export interface LayerNormNode {
  readonly kind: 'layerNorm';
  readonly dim: number;
  readonly epsilon: number;
}

/**
 * Layer normalisation over the last axis. Parameters: `gamma [dim]` (ones), `beta [dim]` (zeros).
 * @example layerNorm(768, 1e-12)
 */
export const layerNorm = <D extends number>(dim: D, epsilon = 1e-12): Layer<D, D> => ({ kind: 'layerNorm', dim, epsilon });

/** The layerNorm primitive (FLOPs: 8 per element). */
export const layerNormPrimitive: Primitive<LayerNormNode> = {
  kind: 'layerNorm',
  check: (n) => positive('dim', n.dim) ?? need(typeof n.epsilon === 'number' && n.epsilon > 0, `epsilon must be > 0, got ${n.epsilon}`),
  shape: (n, x) => features(x, n.dim),
  params: (n) => [
    { name: 'gamma', shape: [n.dim], init: ones, decay: false },
    { name: 'beta', shape: [n.dim], init: zeros, decay: false },
  ],
  sideInputs: () => [],
  compile: (n, env) => {
    const g = joinPath(env.prefix, 'gamma');
    const b = joinPath(env.prefix, 'beta');
    const eps = n.epsilon;
    return (x, rt) => layerNormOp(x, param(rt, g), param(rt, b), eps);
  },
  flops: (_n, _x, y) => 8 * elems(y),
  label: (n) => `layerNorm ${n.dim}`,
  codec: t.strict({ kind: t.literal('layerNorm'), dim: t.number, epsilon: t.number }),
  input: (n) => tensorSig([null, null, n.dim]),
};
