/**
 * What a primitive is: one record holding everything every interpreter needs to know about one
 * kind of layer. Each primitive lives in its own module under `primitives/` and exports one
 * {@link Primitive}; the table in `primitives/index.ts` is typed so that a kind without its
 * record does not compile. Combinators (`seq`, `branch`, `repeat`, `shared`, `named`, `fanout`)
 * are not primitives: the core interprets them.
 *
 * @example
 * ```ts
 * // the whole of a parameter-free primitive (see the README, "Adding a primitive")
 * interface ScaleNode { readonly kind: 'scale'; readonly by: number }
 * export const scalePrimitive: Primitive<ScaleNode> = {
 *   kind: 'scale',
 *   check: (n) => need(Number.isFinite(n.by), `by must be finite, got ${n.by}`),
 *   shape: (_n, x) => (x.dtype === 'float32' ? E.right(x) : E.left('expected float32 features')),
 *   params: () => [],
 *   sideInputs: () => [],
 *   compile: (n) => (x) => tf.mul(x, n.by),
 *   flops: (_n, _x, y) => elems(y),
 *   label: (n) => `scale ×${n.by}`,
 *   codec: t.strict({ kind: t.literal('scale'), by: t.number }),
 * };
 * ```
 * @module
 */
import type * as tf from '@tensorflow/tfjs';
import * as t from 'io-ts';
import type { Runtime } from './runtime.js';
import type { ShapeResult, SideInputSpec, TensorSig } from './sig.js';

/**
 * Parameter initialiser: normal(0, std), truncated normal, uniform(-limit, limit), zeros or
 * ones. `he` and `glorot` name the scale rule (fan-in `f`, fan-out `g`): He normal
 * `std = √(2/f)`, Glorot uniform `limit = √(6/(f+g))`.
 */
export type Init =
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'uniform'; readonly limit: number }
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' };

/** One parameter a primitive owns, relative to its prefix. */
export interface OwnParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
  /** False for biases and normalisation parameters (excluded from weight decay). */
  readonly decay: boolean;
}

/** What a shape rule may consult besides its input. */
export interface ShapeEnv {
  /** The side inputs' signatures, by name. */
  readonly side: Readonly<Record<string, TensorSig>>;
}

/** What a primitive's compiler is given: its parameter prefix and the path of a tied table. */
export interface CompileEnv {
  /** The parameter prefix: `joinPath(prefix, name)` is the store path of parameter `name`. */
  readonly prefix: string;
  /** The store path of the embedding table this primitive is tied to ({@link Primitive.tie}). */
  readonly tiedTable: string | undefined;
}

/** A compiled primitive: one tensor in, one tensor out. */
export type Kernel = (x: tf.Tensor, rt: Runtime) => tf.Tensor;

/** A tie to a shared embedding (weight tying): the shared name and the table size expected. */
export interface Tie {
  readonly target: string;
  readonly vocab: number;
  readonly dim: number;
}

/** Everything the interpreters know about one primitive kind `N`. */
export interface Primitive<N extends { readonly kind: string }> {
  readonly kind: N['kind'];
  /** The node's own fields (sizes, rates, names): the first problem found, if any. */
  readonly check: (n: N) => string | undefined;
  /** Output signature for an input signature, or what is wrong (the core adds the path). */
  readonly shape: (n: N, x: TensorSig, env: ShapeEnv) => ShapeResult;
  /** The parameters it owns, with their initialisers. */
  readonly params: (n: N) => readonly OwnParam[];
  /** The side inputs it reads. */
  readonly sideInputs: (n: N) => readonly SideInputSpec[];
  /** Its tfjs kernel, built once at compile time. */
  readonly compile: (n: N, env: CompileEnv) => Kernel;
  /** Forward FLOPs for concrete input and output signatures (2 per multiply-add). */
  readonly flops: (n: N, x: TensorSig, y: TensorSig) => number;
  /** Its row label in `summary`. */
  readonly label: (n: N) => string;
  /** Its JSON codec (`t.strict` of its fields). */
  readonly codec: t.Mixed;
  /** The main input it expects when it comes first (ids or features of a width), for `compile`'s checks. */
  readonly input?: (n: N) => TensorSig;
  /** When it reads a shared embedding's table (a tied decoder). */
  readonly tie?: (n: N) => Tie;
}

/**
 * A codec for one of a fixed set of strings.
 * @example oneOf(['same', 'valid'] as const)
 */
export const oneOf = <T extends string>(values: readonly T[]): t.Type<T> =>
  new t.Type<T>(
    values.map((v) => JSON.stringify(v)).join(' | '),
    (u): u is T => typeof u === 'string' && (values as readonly string[]).includes(u),
    (u, c) => (typeof u === 'string' && (values as readonly string[]).includes(u) ? t.success(u as T) : t.failure(u, c)),
    t.identity,
  );

/** A codec for an optional field (absent or `undefined` on decode). */
export const optional = <C extends t.Mixed>(c: C) => t.union([c, t.undefined]);
