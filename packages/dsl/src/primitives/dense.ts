/**
 * `dense(in, out)`: a fully connected layer over the last axis, `act(x · kernel + bias)`.
 * @example
 * ```ts
 * dense(768, 3072, { activation: 'gelu_new' }); // Layer<768, 3072>
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Activation } from '../activations.js';
import { linear } from '../kernels.js';
import type { Layer } from '../layer.js';
import { joinPath } from '../paths.js';
import { optional, type Init, type Primitive } from '../primitive.js';
import { param } from '../runtime.js';
import { elems, features, positive, stdOk, tensorSig, withLast } from '../sig.js';
import { ACT_COST, activationC, knownActivation, normal, zeros } from './common.js';
import { defaultKernelInit, initC } from './init.js';

/** The value of {@link dense}. */
export interface DenseNode {
  readonly kind: 'dense';
  readonly inDim: number;
  readonly outDim: number;
  readonly bias: boolean;
  readonly activation: Activation;
  /** Std of a normal(0, std) kernel: the reference (BERT) initialiser; absent: {@link DenseNode.init} or the default. */
  readonly initStd?: number;
  /** An explicit kernel initialiser; absent: the default for the activation ({@link defaultKernelInit}). */
  readonly init?: Init;
}

/** Options of {@link dense}. */
export interface DenseOptions {
  readonly bias?: boolean;
  readonly activation?: Activation;
  /** Std of a normal(0, std) kernel (the BERT/ALBERT reference initialiser). */
  readonly initStd?: number;
  /** Kernel initialiser; default He normal for relu, Glorot uniform otherwise. */
  readonly init?: Init;
}

/**
 * Fully connected layer `[..., inDim] → [..., outDim]`: `act(x · kernel + bias)`.
 * Parameters: `kernel [inDim, outDim]`, `bias [outDim]` (unless `bias: false`). The kernel's
 * default initialiser depends on the activation (He normal for relu, Glorot uniform otherwise);
 * `initStd` asks for normal(0, std), as BERT does.
 * @example dense(768, 3072, { activation: 'gelu_new' })
 */
export const dense = <I extends number, O extends number>(inDim: I, outDim: O, opts: DenseOptions = {}): Layer<I, O> => ({
  kind: 'dense',
  inDim,
  outDim,
  bias: opts.bias ?? true,
  activation: opts.activation ?? 'identity',
  ...(opts.initStd !== undefined ? { initStd: opts.initStd } : {}),
  ...(opts.init !== undefined ? { init: opts.init } : {}),
});

/** The kernel initialiser of a dense node. */
export const denseKernelInit = (n: DenseNode): Init =>
  n.initStd !== undefined ? normal(n.initStd) : (n.init ?? defaultKernelInit(n.activation, n.inDim, n.outDim));

/** The dense primitive. */
export const densePrimitive: Primitive<DenseNode> = {
  kind: 'dense',
  check: (n) => positive('inDim', n.inDim) ?? positive('outDim', n.outDim) ?? knownActivation(n.activation) ?? stdOk(n.initStd),
  shape: (n, x) => E.map((t: typeof x) => withLast(t, n.outDim))(features(x, n.inDim)),
  params: (n) => [
    { name: 'kernel', shape: [n.inDim, n.outDim], init: denseKernelInit(n), decay: true },
    ...(n.bias ? [{ name: 'bias', shape: [n.outDim], init: zeros, decay: false }] : []),
  ],
  sideInputs: () => [],
  compile: (n, env) => {
    const k = joinPath(env.prefix, 'kernel');
    const b = n.bias ? joinPath(env.prefix, 'bias') : undefined;
    const act = n.activation;
    return (x, rt) => linear(x, param(rt, k), b ? param(rt, b) : undefined, act);
  },
  flops: (n, _x, y) => 2 * (elems(y) / n.outDim) * n.inDim * n.outDim + (n.bias ? elems(y) : 0) + ACT_COST[n.activation] * elems(y),
  label: (n) => `dense ${n.inDim}→${n.outDim}${n.activation !== 'identity' ? ` ${n.activation}` : ''}`,
  codec: t.strict({
    kind: t.literal('dense'),
    inDim: t.number,
    outDim: t.number,
    bias: t.boolean,
    activation: activationC,
    initStd: optional(t.number),
    init: optional(initC),
  }),
  input: (n) => tensorSig([null, null, n.inDim]),
};
