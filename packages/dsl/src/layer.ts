/**
 * Layers as values: the discriminated union every interpreter works over, and the constructors
 * (primitives and combinators) users write models with.
 *
 * A layer maps one tensor stream to another (`[..., in] → [..., out]`); side inputs such as the
 * attention mask or token-type ids are read by name by the primitives that need them. The type
 * parameters of {@link Layer} carry the last (feature) dimension of the input and output when they
 * are literal numbers, so mis-compositions fail to compile; see `test/types.test.ts`.
 *
 * @example
 * ```ts
 * const mlp = seq(dense(4, 16, { activation: 'relu' }), residual(dense(16, 16, { activation: 'relu' })), dense(16, 3));
 * // mlp: Layer<4, 3>
 * ```
 * @module
 */
import type { AttentionNode } from './primitives/attention.js';
import type { BiasNode } from './primitives/bias.js';
import type { Conv1dNode } from './primitives/conv1d.js';
import type { TransposeNode } from './primitives/transpose.js';
import { dense, type DenseNode } from './primitives/dense.js';
import type { ActivationNode, DropoutNode, IdentityNode } from './primitives/elementwise.js';
import { embedding, type EmbeddingNode, type PositionalEmbeddingNode, type TokenTypeEmbeddingNode } from './primitives/embedding.js';
import type { GatherNode } from './primitives/gather.js';
import type { LayerNormNode } from './primitives/layerNorm.js';
import type { FirstTokenNode, PoolNode } from './primitives/pooling.js';
import { stepSignal, type SinusoidalPositionsNode, type StepSignalNode } from './primitives/signals.js';
import type { UnembedNode } from './primitives/unembed.js';
import { identity } from './primitives/elementwise.js';


export { ACTIVATIONS, type Activation } from './activations.js';
export type { Init } from './primitive.js';

/** How a {@link branch} merges its branches' outputs. */
export type Merge = 'add' | 'concat';

/** The primitive variants: each defined, with its interpreters, in its own module under `primitives/`. */
export type PrimitiveNode =
  | DenseNode
  | EmbeddingNode
  | PositionalEmbeddingNode
  | TokenTypeEmbeddingNode
  | LayerNormNode
  | DropoutNode
  | ActivationNode
  | AttentionNode
  | FirstTokenNode
  | GatherNode
  | UnembedNode
  | IdentityNode
  | SinusoidalPositionsNode
  | StepSignalNode
  | BiasNode
  | Conv1dNode
  | PoolNode
  | TransposeNode;

/** The combinator variants, interpreted by the core. */
export type CombinatorNode = SeqNode | BranchNode | RepeatNode | SharedNode | NamedNode | FanoutNode;

/** The untyped core: one variant per primitive or combinator. Plain JSON data. */
export type Node = PrimitiveNode | CombinatorNode;

/** A primitive's tag. */
export type PrimitiveKind = PrimitiveNode['kind'];
/** A combinator's tag. */
export type CombinatorKind = CombinatorNode['kind'];

/** The value of {@link seq}. */
export interface SeqNode {
  readonly kind: 'seq';
  readonly layers: readonly Node[];
}
/** The value of {@link branch} (and of {@link residual}). */
export interface BranchNode {
  readonly kind: 'branch';
  readonly branches: readonly Node[];
  readonly merge: Merge;
}
/** The value of {@link repeat}. */
export interface RepeatNode {
  readonly kind: 'repeat';
  readonly layer: Node;
  readonly times: number;
  /** A step signal added to the stream before each application (Universal Transformer); absent: none. */
  readonly step?: StepSignalNode;
}
/** The value of {@link shared}. */
export interface SharedNode {
  readonly kind: 'shared';
  /** The one parameter scope every occurrence resolves to. */
  readonly name: string;
  readonly layer: Node;
}
/** The value of {@link named}. */
export interface NamedNode {
  readonly kind: 'named';
  readonly name: string;
  readonly layer: Node;
}
/** The value of {@link fanout}. */
export interface FanoutNode {
  readonly kind: 'fanout';
  readonly outputs: Readonly<Record<string, Node>>;
}

/** Every variant's tag. */
export type Kind = Node['kind'];

// ---------------------------------------------------------------------------------------------
// Type-level signatures

/** A feature dimension at the type level: a literal number, `number` (known only at run time), or `'ids'` (integer ids). */
export type Dim = number | 'ids';
/** Marker for shape-preserving layers (activations, dropout, layer norm of unknown width): the output dim is the input dim. */
export type Same = 'same';

/**
 * A layer value whose input and output last dimensions are `I` and `O` at the type level.
 * At run time it is just a {@link Node}; the phantom field is never present.
 */
export type Layer<I extends Dim | Same = Dim | Same, O extends Dim | Same = Dim | Same> = Node & { readonly __sig?: readonly [I, O] };
/** A layer whose dims are unknown to the type system. */
export type AnyLayer = Layer<Dim | Same, Dim | Same>;

/** Input dim of a layer type. */
export type InOf<L> = L extends { readonly __sig?: readonly [infer I, unknown] } ? I : never;
/** Output dim of a layer type. */
export type OutOf<L> = L extends { readonly __sig?: readonly [unknown, infer O] } ? O : never;

type IsWide<A> = A extends 'ids' ? false : number extends A ? true : false;
/** True when an output of dim `A` may feed an input of dim `B` (wide `number` dims defer to shape inference). */
export type Compatible<A, B> = [A] extends [Same]
  ? true
  : [B] extends [Same]
    ? true
    : IsWide<A> extends true
      ? true
      : IsWide<B> extends true
        ? true
        : [A] extends [B]
          ? ([B] extends [A] ? true : false)
          : false;

type ShowDim<D> = D extends number | string ? D : 'unknown';

/**
 * The type-level error a mis-composition produces. Its one property reads as what happened, so
 * TypeScript's diagnostic says it: `Property '"lamina: output dim 64 does not fit input dim 32"'
 * is missing in type …`.
 */
export type ShapeMismatch<Got, Expected> = {
  readonly [K in `lamina: output dim ${ShowDim<Got>} does not fit input dim ${ShowDim<Expected>}`]: Got;
};

/**
 * Checks a chain of layers; returns the tuple unchanged when it composes, else marks the bad
 * position. An array of layers (`seq(...blocks)`) must be an endo stack (each output fits the
 * next one's input); a variadic tuple (`seq(embed, ...blocks, head)`) is checked up to its rest
 * element and the rest is left to shape inference.
 */
export type CheckChain<Ls extends readonly unknown[], Prev = Same, Acc extends readonly unknown[] = []> = number extends Ls['length']
  ? Ls extends readonly [infer H, ...infer T]
    ? Compatible<Prev, InOf<H>> extends true
      ? CheckChain<T, [OutOf<H>] extends [Same] ? Prev : OutOf<H>, [...Acc, H]>
      : [...Acc, ShapeMismatch<Prev, InOf<H>>, ...T]
    : Ls extends readonly [...infer R, infer Z]
      ? CheckChain<R, Prev> extends R
        ? Compatible<LastOut<R, Prev>, InOf<Z>> extends true
          ? [...Acc, ...Ls]
          : [...Acc, ...R, ShapeMismatch<LastOut<R, Prev>, InOf<Z>>]
        : [...Acc, ...CheckChain<R, Prev>, Z]
      : Ls extends readonly (infer L)[]
      ? Compatible<Prev, InOf<L>> extends true
        ? Compatible<OutOf<L>, InOf<L>> extends true
          ? [...Acc, ...Ls]
          : [...Acc, ...ShapeMismatch<OutOf<L>, InOf<L>>[]]
        : [...Acc, ...ShapeMismatch<Prev, InOf<L>>[]]
    : Acc
  : Ls extends readonly [infer H, ...infer T]
    ? Compatible<Prev, InOf<H>> extends true
      ? CheckChain<T, [OutOf<H>] extends [Same] ? Prev : OutOf<H>, [...Acc, H]>
      : [...Acc, ShapeMismatch<Prev, InOf<H>>, ...T]
    : Acc;

type FirstIn<Ls extends readonly unknown[]> = Ls extends readonly [infer H, ...infer T]
  ? [InOf<H>] extends [Same]
    ? FirstIn<T>
    : InOf<H>
  : Ls extends readonly (infer L)[]
    ? number extends Ls['length']
      ? InOf<L>
      : Same
    : Same;
type LastOut<Ls extends readonly unknown[], Prev = Same> = Ls extends readonly [infer H, ...infer T]
  ? LastOut<T, [OutOf<H>] extends [Same] ? Prev : OutOf<H>>
  : Ls extends readonly [...unknown[], infer Z]
    ? [OutOf<Z>] extends [Same]
      ? Prev
      : OutOf<Z>
    : Ls extends readonly (infer L)[]
    ? number extends Ls['length']
      ? [OutOf<L>] extends [Same]
        ? Prev
        : OutOf<L>
      : Prev
    : Prev;

// ---------------------------------------------------------------------------------------------
// Constructors

/** The embedding inside a shared/named wrapper, if that is what it wraps. */
export const innerEmbedding = (n: Node): EmbeddingNode | undefined =>
  n.kind === 'embedding' ? n : n.kind === 'named' || n.kind === 'shared' ? innerEmbedding(n.layer) : undefined;

/**
 * Composition: `seq(f, g, h)(x) = h(g(f(x)))`. Dims must chain (a compile error when literal).
 * @example seq(dense(4, 8, { activation: 'relu' }), dense(8, 2))
 */
export const seq = <const Ls extends readonly AnyLayer[]>(...layers: Ls & CheckChain<Ls>): Layer<FirstIn<Ls>, LastOut<Ls>> => ({
  kind: 'seq',
  layers: layers as readonly Node[],
});

/** Alias of {@link seq}, for readers who prefer the word. */
export const pipeLayers = seq;

/**
 * Runs every branch on the same input and merges: `add` (all outputs the same shape) or `concat`
 * (along the last axis).
 * @example branch([dense(8, 4), dense(8, 4)], 'concat') // Layer<8, number>
 */
export function branch<I extends Dim | Same, O extends Dim | Same>(branches: readonly Layer<I, O>[], merge: 'add'): Layer<I, O>;
export function branch<I extends Dim | Same>(branches: readonly Layer<I, Dim | Same>[], merge: 'concat'): Layer<I, number>;
export function branch(branches: readonly AnyLayer[], merge: Merge): AnyLayer {
  return { kind: 'branch', branches, merge };
}

/** Alias of {@link branch}: fan the input out to several layers and merge their outputs. */
export const parallel = branch;

/**
 * `x + f(x)`, built as `branch([identity, f], 'add')`.
 * @example residual(seq(dense(8, 32, { activation: 'relu' }), dense(32, 8)))
 */
export const residual = <I extends Dim | Same, O extends Dim | Same>(f: Layer<I, O> & EndoCheck<I, O>): Layer<I, I> =>
  ({ kind: 'branch', branches: [identity, f], merge: 'add' }) as Layer<I, I>;

/** Accepts only layers whose output dim can feed their own input (needed by residual and repeat). */
export type EndoCheck<I, O> = Compatible<O, I> extends true ? unknown : ShapeMismatch<O, I>;

/** Options of {@link repeat}: a per-application step signal. */
export type RepeatOptions =
  | { readonly step?: undefined }
  | { readonly step: 'sinusoidal' }
  | { readonly step: 'embedding'; readonly dim: number; readonly initStd?: number };

/**
 * `f` applied `times` times in sequence. Without {@link shared}, every copy has its own
 * parameters (stored under `0.`, `1.`, …); `repeat(shared(f), n)` uses one set.
 *
 * `{ step }` adds a signal of the application's index to the stream before each application,
 * so one shared block can tell its steps apart (Universal Transformer): `'sinusoidal'` (fixed,
 * no parameters) or `'embedding'` (a learned `[times, dim]` table under `step.embeddings`).
 * @example repeat(block, 12)
 * @example repeat(shared(block), 6, { step: 'sinusoidal' })
 */
export const repeat = <I extends Dim | Same, O extends Dim | Same>(f: Layer<I, O> & EndoCheck<I, O>, times: number, opts: RepeatOptions = {}): Layer<I, I> =>
  ({
    kind: 'repeat',
    layer: f,
    times,
    ...(opts.step === 'sinusoidal' ? { step: stepSignal('sinusoidal', times) } : {}),
    ...(opts.step === 'embedding' ? { step: stepSignal('embedding', times, opts.dim, opts.initStd === undefined ? {} : { initStd: opts.initStd }) } : {}),
  }) as Layer<I, I>;

/**
 * Weight tying: every occurrence of a shared value (same `name`) uses ONE set of parameters,
 * stored under `name`. Two shared nodes with the same name must have equal bodies. Without a name,
 * the name is derived from the body, so equal shared values are the same shared value.
 * @example
 * ```ts
 * const block = shared(transformerBlock, 'encoder.group0');
 * seq(block, block) // one parameter set, applied twice
 * ```
 */
export const shared = <I extends Dim | Same, O extends Dim | Same>(f: Layer<I, O>, name?: string): Layer<I, O> & SharedNode => ({
  kind: 'shared',
  name: name ?? `shared_${structuralHash(f)}`,
  layer: f,
});

/**
 * Puts `f`'s parameters under the path segment `name`.
 * @example named('attention', multiHeadAttention(768, 12))
 */
export const named = <I extends Dim | Same, O extends Dim | Same>(name: string, f: Layer<I, O>): Layer<I, O> => ({
  kind: 'named',
  name,
  layer: f,
});

/**
 * Several named outputs from one input: `fanout({ pooled: …, logits: … })`. The compiled
 * function returns a record of tensors; only allowed as the last layer of a model.
 * @example fanout({ hidden: identity, pooled: seq(firstToken, dense(8, 8, { activation: 'tanh' })) })
 */
export const fanout = (outputs: Readonly<Record<string, AnyLayer>>): Layer<Same, Same> => ({
  kind: 'fanout',
  outputs,
});

/** Options of {@link factorize}. */
export interface FactorizeOptions {
  /** Layers applied at width E between the embedding and the projection (e.g. position/type embeddings and a LayerNorm). */
  readonly between?: Layer<number, number> | Layer<Same, Same>;
  /** Share the word embedding under this name (so a decoder can be tied to it). */
  readonly sharedName?: string;
  readonly initStd?: number;
}

/**
 * Factorised embedding (ALBERT): ids → embedding `V×E` → projection `E→H` (with bias), built from
 * {@link embedding} and {@link dense}: `countParams(factorize(V, E, H)) = V·E + E·H + H`.
 * Parameters: `embedding.embeddings`, `projection.kernel`, `projection.bias`.
 * @example factorize(30000, 128, 768)
 */
export const factorize = <E extends number, H extends number>(V: number, E: E, H: H, opts: FactorizeOptions = {}): Layer<'ids', H> => {
  const std = opts.initStd === undefined ? {} : { initStd: opts.initStd };
  const emb = embedding(V, E, std);
  const word: Node = opts.sharedName ? shared(emb, opts.sharedName) : named('embedding', emb);
  const layers: Node[] = [word];
  if (opts.between) layers.push(opts.between);
  layers.push(named('projection', dense(E, H, std)));
  return { kind: 'seq', layers } as Layer<'ids', H>;
};

/** A short, stable hash of a layer's JSON form (used to name anonymous shared nodes). */
export const structuralHash = (n: Node): string => {
  const s = canonicalJson(n);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return (h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')).slice(0, 12);
};

/** JSON with object keys sorted, so equal values give equal strings. */
export const canonicalJson = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
};

/** Structural equality of two layer values. */
export const equalLayers = (a: Node, b: Node): boolean => canonicalJson(a) === canonicalJson(b);
