/**
 * Fixed and learned signals added to the stream: `sinusoidalPositions()` (the Transformer's
 * fixed sin/cos of the position) and `stepSignal` (which application of a `repeat` this is, for
 * a Universal Transformer; built by `repeat(f, n, { step })`, rarely by hand).
 *
 * The sinusoid of position p at feature k of d: `sin(p / base^(2⌊k/2⌋/d))` for even k,
 * `cos(…)` for odd k (Vaswani et al. 2017, base 10000).
 * @example
 * ```ts
 * seq(embedding(1000, 64), sinusoidalPositions());            // fixed positions, no parameters
 * repeat(shared(block), 6, { step: 'sinusoidal' });            // + the step's sinusoid before each application
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Layer, Same } from '../layer.js';
import { joinPath } from '../paths.js';
import { oneOf, type Primitive } from '../primitive.js';
import { param } from '../runtime.js';
import { dimsMatch, elems, lastDim, need, positive, sequence, showShape, stdOk, type TensorSig } from '../sig.js';
import { DEFAULT_STD, normal } from './common.js';

/**
 * The sinusoid table `[len, dim]` (row p = the signal of position or step p), as plain numbers.
 * @example sinusoidTable(2, 4, 10000)[1] // [sin 1, cos 1, sin 0.01, cos 0.01]
 */
export const sinusoidTable = (len: number, dim: number, base: number): Float32Array => {
  const out = new Float32Array(len * dim);
  for (let p = 0; p < len; p++)
    for (let k = 0; k < dim; k++) {
      const a = p / base ** ((2 * Math.floor(k / 2)) / dim);
      out[p * dim + k] = k % 2 === 0 ? Math.sin(a) : Math.cos(a);
    }
  return out;
};

const tables = new Map<string, Float32Array>();
const cachedTable = (len: number, dim: number, base: number): Float32Array => {
  const key = `${len}:${dim}:${base}`;
  let v = tables.get(key);
  if (!v) {
    v = sinusoidTable(len, dim, base);
    if (tables.size > 64) tables.clear();
    tables.set(key, v);
  }
  return v;
};

/** The value of {@link sinusoidalPositions}. */
export interface SinusoidalPositionsNode {
  readonly kind: 'sinusoidalPositions';
  /** The base of the wavelengths (10000 in the Transformer). */
  readonly base: number;
}

/**
 * Adds the fixed sinusoidal position signal to `[batch, seq, dim]` (no parameters, any length).
 * @example seq(embedding(1000, 64), sinusoidalPositions())
 */
export const sinusoidalPositions = (opts: { base?: number } = {}): Layer<Same, Same> => ({ kind: 'sinusoidalPositions', base: opts.base ?? 10000 });

/** The sinusoidalPositions primitive (FLOPs: one add per element). */
export const sinusoidalPositionsPrimitive: Primitive<SinusoidalPositionsNode> = {
  kind: 'sinusoidalPositions',
  check: (n) => need(typeof n.base === 'number' && n.base > 1 && Number.isFinite(n.base), `base must be a finite number > 1, got ${JSON.stringify(n.base)}`),
  shape: (_n, x) => sequence(x, null),
  params: () => [],
  sideInputs: () => [],
  compile: (n) => {
    const base = n.base;
    return (x) => {
      const [, s, d] = x.shape as [number, number, number];
      return tf.add(x, tf.tensor2d(cachedTable(s, d, base), [s, d]));
    };
  },
  flops: (_n, _x, y) => elems(y),
  label: () => 'sinusoidalPositions',
  codec: t.strict({ kind: t.literal('sinusoidalPositions'), base: t.number }),
};

/** The value of a step signal (see `repeat(f, n, { step })`). */
export interface StepSignalNode {
  readonly kind: 'stepSignal';
  /** `sinusoidal`: the fixed sinusoid of the step; `embedding`: a learned row per step. */
  readonly signal: 'sinusoidal' | 'embedding';
  /** How many steps (the repeat count). */
  readonly steps: number;
  /** Feature width (needed by `embedding`; `null`: the stream's). */
  readonly dim: number | null;
  readonly initStd: number;
}

/**
 * A step signal: adds, to features `[..., dim]`, the signal of the current application of the
 * enclosing `repeat` (0 outside one). `repeat(f, n, { step })` puts it before each application.
 * Parameter (embedding only): `embeddings [steps, dim]`.
 * @example stepSignal('embedding', 6, 64)
 */
export const stepSignal = (signal: 'sinusoidal' | 'embedding', steps: number, dim: number | null = null, opts: { initStd?: number } = {}): Layer<Same, Same> => ({
  kind: 'stepSignal',
  signal,
  steps,
  dim,
  initStd: opts.initStd ?? DEFAULT_STD,
});

/** The stepSignal primitive (FLOPs: one add per element). */
export const stepSignalPrimitive: Primitive<StepSignalNode> = {
  kind: 'stepSignal',
  check: (n) =>
    need(n.signal === 'sinusoidal' || n.signal === 'embedding', `signal must be "sinusoidal" or "embedding", got ${JSON.stringify(n.signal)}`) ??
    positive('steps', n.steps) ??
    (n.dim === null ? need(n.signal === 'sinusoidal', 'a step embedding needs its width: repeat(f, n, { step: "embedding", dim })') : positive('dim', n.dim)) ??
    stdOk(n.initStd),
  shape: (n, x) =>
    x.dtype !== 'float32' || x.shape.length < 1
      ? E.left(`a step signal needs float features [..., dim], got ${showShape(x.shape)} ${x.dtype}`)
      : n.dim !== null && !dimsMatch(lastDim(x), n.dim)
        ? E.left(`step signal of width ${n.dim} does not fit features ${showShape(x.shape)}`)
        : E.right(x as TensorSig),
  params: (n) => (n.signal === 'embedding' && n.dim !== null ? [{ name: 'embeddings', shape: [n.steps, n.dim], init: normal(n.initStd), decay: true }] : []),
  sideInputs: () => [],
  compile: (n, env) => {
    if (n.signal === 'embedding') {
      const p = joinPath(env.prefix, 'embeddings');
      const dim = n.dim as number;
      return (x, rt) => tf.add(x, tf.reshape(tf.slice(param(rt, p), [Math.min(rt.step, n.steps - 1), 0], [1, dim]), [dim]));
    }
    const steps = n.steps;
    return (x, rt) => {
      const d = x.shape[x.rank - 1] as number;
      const row = cachedTable(steps, d, 10000).subarray(rt.step * d, (rt.step + 1) * d);
      return tf.add(x, tf.tensor1d(row));
    };
  },
  flops: (_n, _x, y) => elems(y),
  label: (n) => `step signal (${n.signal}, ${n.steps} steps)`,
  codec: t.strict({ kind: t.literal('stepSignal'), signal: oneOf(['sinusoidal', 'embedding'] as const), steps: t.number, dim: t.union([t.number, t.null]), initStd: t.number }),
};
