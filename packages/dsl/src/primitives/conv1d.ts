/**
 * `conv1d(in, out, width, opts)`: a 1-D convolution over the sequence axis of `[batch, seq, in]`.
 * @example
 * ```ts
 * conv1d(64, 128, 3, { padding: 'same', activation: 'relu' });          // [b, s, 64] → [b, s, 128]
 * conv1d(64, 64, 3, { stride: 2, padding: 'valid' });                    // [b, s, 64] → [b, ⌊(s-3)/2⌋+1, 64]
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Activation } from '../activations.js';
import { applyActivation } from '../kernels.js';
import type { Layer } from '../layer.js';
import { joinPath } from '../paths.js';
import { oneOf, optional, type Init, type Primitive } from '../primitive.js';
import { param } from '../runtime.js';
import { elems, need, positive, sequence, tensorSig, type TensorSig } from '../sig.js';
import { ACT_COST, activationC, knownActivation, zeros } from './common.js';
import { defaultKernelInit, initC } from './init.js';

/** The value of {@link conv1d}. */
export interface Conv1dNode {
  readonly kind: 'conv1d';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly width: number;
  readonly stride: number;
  readonly dilation: number;
  readonly padding: 'same' | 'valid';
  readonly activation: Activation;
  readonly bias: boolean;
  /** An explicit kernel initialiser; absent: He normal (relu family) or Glorot uniform, fan-in `width·in`. */
  readonly init?: Init;
}

/** Options of {@link conv1d}. */
export interface Conv1dOptions {
  /** Step between output positions (default 1). */
  readonly stride?: number;
  /** Spacing of the kernel's taps (default 1; stride and dilation cannot both exceed 1). */
  readonly dilation?: number;
  /** `same`: ⌈seq/stride⌉ outputs, zero-padded (split as TensorFlow does); `valid`: no padding. */
  readonly padding: 'same' | 'valid';
  readonly activation?: Activation;
  readonly bias?: boolean;
  readonly init?: Init;
}

/**
 * 1-D convolution over the sequence axis: `[batch, seq, in] → [batch, seq', out]`,
 * `y[t] = act(b + Σ_j x[t·stride + j·dilation − padLeft] · kernel[j])`.
 * `seq' = ⌈seq/stride⌉` for `same`, `⌊(seq − dilation·(width−1) − 1)/stride⌋ + 1` for `valid`.
 * Parameters: `kernel [width, in, out]`, `bias [out]`.
 * @example conv1d(64, 128, 3, { padding: 'same', activation: 'relu' })
 */
export const conv1d = <I extends number, O extends number>(inChannels: I, outChannels: O, width: number, opts: Conv1dOptions): Layer<I, O> => ({
  kind: 'conv1d',
  inChannels,
  outChannels,
  width,
  stride: opts.stride ?? 1,
  dilation: opts.dilation ?? 1,
  padding: opts.padding,
  activation: opts.activation ?? 'identity',
  bias: opts.bias ?? true,
  ...(opts.init !== undefined ? { init: opts.init } : {}),
});

/**
 * The output length of a conv1d for an input length (null when unknown).
 * @example convOutLength(conv1d(1, 1, 3, { padding: 'valid' }) as Conv1dNode, 10) // 8
 */
export const convOutLength = (n: Conv1dNode, s: number | null): number | null => {
  if (s === null) return null;
  return n.padding === 'same' ? Math.ceil(s / n.stride) : Math.floor((s - n.dilation * (n.width - 1) - 1) / n.stride) + 1;
};

/**
 * A dilated convolution (stride 1) as one slice and matmul per tap: tfjs has no gradient for a
 * dilated conv, and this does exactly the formula's work.
 */
const dilatedTaps = (x: tf.Tensor3D, kernel: tf.Tensor3D, width: number, dilation: number, padding: 'same' | 'valid', cin: number, cout: number): tf.Tensor => {
  const [b, s] = x.shape;
  const span = dilation * (width - 1) + 1;
  const total = padding === 'same' ? span - 1 : 0;
  const out = s + total - span + 1;
  const left = Math.floor(total / 2);
  const xp = total > 0 ? tf.pad(x, [[0, 0], [left, total - left], [0, 0]]) : x;
  let y: tf.Tensor | undefined;
  for (let j = 0; j < width; j++) {
    const taps = tf.reshape(tf.slice(xp, [0, j * dilation, 0], [b, out, cin]), [b * out, cin]);
    const w = tf.reshape(tf.slice(kernel, [j, 0, 0], [1, cin, cout]), [cin, cout]);
    const part = tf.matMul(taps, w);
    y = y ? tf.add(y, part) : part;
  }
  return tf.reshape(y as tf.Tensor, [b, out, cout]);
};

/** The conv1d primitive. */
export const conv1dPrimitive: Primitive<Conv1dNode> = {
  kind: 'conv1d',
  check: (n) =>
    positive('inChannels', n.inChannels) ??
    positive('outChannels', n.outChannels) ??
    positive('width', n.width) ??
    positive('stride', n.stride) ??
    positive('dilation', n.dilation) ??
    need(n.stride === 1 || n.dilation === 1, `stride and dilation cannot both exceed 1 (got stride ${n.stride}, dilation ${n.dilation})`) ??
    need(n.padding === 'same' || n.padding === 'valid', `padding must be "same" or "valid", got ${JSON.stringify(n.padding)}`) ??
    knownActivation(n.activation),
  shape: (n, x) =>
    E.chain((s: TensorSig): E.Either<string, TensorSig> => {
      const len = convOutLength(n, s.shape[1] ?? null);
      if (len !== null && len < 1)
        return E.left(`sequence length ${s.shape[1]} is shorter than the kernel's span ${n.dilation * (n.width - 1) + 1} (padding "valid")`);
      return E.right(tensorSig([s.shape[0] ?? null, len, n.outChannels]));
    })(sequence(x, n.inChannels)),
  params: (n) => [
    { name: 'kernel', shape: [n.width, n.inChannels, n.outChannels], init: n.init ?? defaultKernelInit(n.activation, n.width * n.inChannels, n.width * n.outChannels), decay: true },
    ...(n.bias ? [{ name: 'bias', shape: [n.outChannels], init: zeros, decay: false }] : []),
  ],
  sideInputs: () => [],
  compile: (n, env) => {
    const k = joinPath(env.prefix, 'kernel');
    const b = n.bias ? joinPath(env.prefix, 'bias') : undefined;
    const { stride, dilation, padding, activation: act } = n;
    const { width, inChannels: cin, outChannels: cout } = n;
    return (x, rt) => {
      let y: tf.Tensor =
        dilation === 1
          ? tf.conv1d(x as tf.Tensor3D, param(rt, k) as tf.Tensor3D, stride, padding, 'NWC', 1)
          : dilatedTaps(x as tf.Tensor3D, param(rt, k) as tf.Tensor3D, width, dilation, padding, cin, cout);
      if (b) y = tf.add(y, param(rt, b));
      return applyActivation(act, y);
    };
  },
  flops: (n, _x, y) => 2 * elems(y) * n.width * n.inChannels + (n.bias ? elems(y) : 0) + ACT_COST[n.activation] * elems(y),
  label: (n) =>
    `conv1d ${n.inChannels}→${n.outChannels} ×${n.width}${n.stride > 1 ? ` /${n.stride}` : ''}${n.dilation > 1 ? ` dil ${n.dilation}` : ''} ${n.padding}${n.activation !== 'identity' ? ` ${n.activation}` : ''}`,
  codec: t.strict({
    kind: t.literal('conv1d'),
    inChannels: t.number,
    outChannels: t.number,
    width: t.number,
    stride: t.number,
    dilation: t.number,
    padding: oneOf(['same', 'valid'] as const),
    activation: activationC,
    bias: t.boolean,
    init: optional(initC),
  }),
  input: (n) => tensorSig([null, null, n.inChannels]),
};
