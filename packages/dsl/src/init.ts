/**
 * `init(model, seed)`: a parameter store (tf.Variables keyed by path), deterministic per seed.
 * Each parameter's values depend only on the seed and its path, not on the order of the walk.
 *
 * @example
 * ```ts
 * const store = init(seq(dense(4, 8), dense(8, 2)), 42); // right({ 'dense_0.kernel': Variable, … })
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { Init, Node } from './layer.js';
import { paramSpecs, type ParamSpec } from './params.js';
import type { ModelError } from './shape.js';

/** Trainable parameters keyed by path. */
export type ParamStore = Readonly<Record<string, tf.Variable>>;

/** A 32-bit FNV-1a/murmur-style hash of a seed and a string (stable across runs and platforms). */
export const hashSeed = (seed: number, label: string): number => {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  h = Math.imul(h ^ Math.floor(seed / 2 ** 32), 0x01000193) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
};

/** Values of one parameter for a seed. */
export const initTensor = (spec: Pick<ParamSpec, 'path' | 'shape' | 'init'>, seed: number): tf.Tensor => {
  const init: Init = spec.init;
  switch (init.kind) {
    case 'zeros':
      return tf.zeros(spec.shape as number[]);
    case 'ones':
      return tf.ones(spec.shape as number[]);
    case 'normal':
      return tf.randomNormal(spec.shape as number[], 0, init.std, 'float32', hashSeed(seed, spec.path));
    case 'uniform':
      return tf.randomUniform(spec.shape as number[], -init.limit, init.limit, 'float32', hashSeed(seed, spec.path));
  }
};

/**
 * Creates every parameter of `model` as a trainable tf.Variable. Same model and seed → same
 * values. An invalid model is a {@link ModelError}.
 */
export const init = (model: Node, seed: number): E.Either<ModelError, ParamStore> =>
  E.map((specs: readonly ParamSpec[]) => {
    const store: Record<string, tf.Variable> = {};
    for (const s of specs) {
      const t = initTensor(s, seed);
      store[s.path] = tf.variable(t, true);
      t.dispose();
    }
    return store;
  })(paramSpecs(model));

/** Disposes every variable of a store. */
export const disposeParams = (store: Readonly<Record<string, tf.Tensor>>): void => {
  for (const v of Object.values(store)) v.dispose();
};

/**
 * Checks that a store holds exactly the model's parameters with the right shapes; lists every
 * missing, unexpected and mis-shaped entry by name.
 */
export const checkParams = (model: Node, store: Readonly<Record<string, { readonly shape: readonly number[] }>>): E.Either<string, void> =>
  E.chain((specs: readonly ParamSpec[]) => {
    const want = new Map(specs.map((s) => [s.path, s.shape]));
    const problems: string[] = [];
    for (const [p, shape] of want) {
      const got = store[p];
      if (!got) problems.push(`missing ${p}`);
      else if (got.shape.length !== shape.length || got.shape.some((d, i) => d !== shape[i]))
        problems.push(`${p} has shape [${got.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    for (const p of Object.keys(store)) if (!want.has(p)) problems.push(`unexpected ${p}`);
    return problems.length ? E.left(problems.join('; ')) : E.right(undefined);
  })(E.mapLeft((e: ModelError) => `${e.path}: ${e.message}`)(paramSpecs(model)));
