/**
 * Layers as values: the discriminated union every interpreter works over, and the constructors
 * (primitives and combinators) users write models with.
 *
 * A layer maps one tensor stream to another (`[..., in] → [..., out]`); side inputs such as the
 * attention mask or token-type ids are read by name by the primitives that need them. The type
 * parameters of {@link Layer} carry the last (feature) dimension of the input and output when they
 * are literal numbers, so mis-compositions fail to compile; see `test/types.test-d.ts`.
 *
 * @example
 * ```ts
 * const mlp = seq(dense(4, 16, { activation: 'relu' }), residual(dense(16, 16, { activation: 'relu' })), dense(16, 3));
 * // mlp: Layer<4, 3>
 * ```
 * @module
 */

/** Activation functions. `gelu` is exact (erf); `gelu_new` is the tanh approximation. */
export const ACTIVATIONS = ['identity', 'gelu', 'gelu_new', 'relu', 'tanh', 'softmax'] as const;
/** One of {@link ACTIVATIONS}. */
export type Activation = (typeof ACTIVATIONS)[number];

/** How a {@link branch} merges its branches' outputs. */
export type Merge = 'add' | 'concat';

/** Parameter initialiser: normal(0, std), zeros or ones. */
export type Init = { readonly kind: 'normal'; readonly std: number } | { readonly kind: 'zeros' } | { readonly kind: 'ones' };

/** The untyped core: one variant per primitive or combinator. Plain JSON data. */
export type Node =
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
  | SeqNode
  | BranchNode
  | RepeatNode
  | SharedNode
  | NamedNode
  | FanoutNode;

/** The value of {@link dense}. */
export interface DenseNode {
  readonly kind: 'dense';
  readonly inDim: number;
  readonly outDim: number;
  readonly bias: boolean;
  readonly activation: Activation;
  readonly initStd: number;
}
/** The value of {@link embedding}. */
export interface EmbeddingNode {
  readonly kind: 'embedding';
  readonly vocab: number;
  readonly dim: number;
  readonly initStd: number;
}
/** The value of {@link positionalEmbedding}. */
export interface PositionalEmbeddingNode {
  readonly kind: 'positionalEmbedding';
  readonly maxLen: number;
  readonly dim: number;
  readonly initStd: number;
}
/** The value of {@link tokenTypeEmbedding}. */
export interface TokenTypeEmbeddingNode {
  readonly kind: 'tokenTypeEmbedding';
  readonly types: number;
  readonly dim: number;
  /** Name of the side input holding the type ids (`[batch, seq]` int32). */
  readonly input: string;
  readonly initStd: number;
}
/** The value of {@link layerNorm}. */
export interface LayerNormNode {
  readonly kind: 'layerNorm';
  readonly dim: number;
  readonly epsilon: number;
}
/** The value of {@link dropout}. */
export interface DropoutNode {
  readonly kind: 'dropout';
  readonly rate: number;
}
/** The value of {@link activation}. */
export interface ActivationNode {
  readonly kind: 'activation';
  readonly fn: Activation;
}
/** The value of {@link multiHeadAttention}. */
export interface AttentionNode {
  readonly kind: 'attention';
  readonly dim: number;
  readonly heads: number;
  readonly headSize: number;
  /** Side input holding the 0/1 attention mask (`[batch, seq]`), or null for none. */
  readonly maskInput: string | null;
  /** Dropout on the attention probabilities. */
  readonly dropout: number;
  readonly initStd: number;
  /**
   * Causal (autoregressive): position i attends only to positions <= i. Absent (not `false`)
   * when off, so the JSON form and structural hash of non-causal models are unchanged.
   */
  readonly causal?: true;
}
/** The value of {@link firstToken}. */
export interface FirstTokenNode {
  readonly kind: 'firstToken';
}
/** The value of {@link gatherPositions}. */
export interface GatherNode {
  readonly kind: 'gather';
  /** Side input holding positions (`[batch, k]` int32) to pick along the sequence axis. */
  readonly input: string;
}
/** The value of {@link tiedUnembed}. */
export interface UnembedNode {
  readonly kind: 'unembed';
  /** Name of the shared embedding whose transposed table is the projection. */
  readonly target: string;
  readonly vocab: number;
  readonly dim: number;
  readonly bias: boolean;
}
/** The value of {@link identity}. */
export interface IdentityNode {
  readonly kind: 'identity';
}
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

/** The type-level error a mis-composition produces. */
export interface ShapeMismatch<Got, Expected> {
  readonly 'lamina: cannot compose — previous layer outputs last dim': Got;
  readonly 'but this layer expects': Expected;
}

/** Checks a chain of layers; returns the tuple unchanged when it composes, else marks the bad position. */
export type CheckChain<Ls extends readonly unknown[], Prev = Same, Acc extends readonly unknown[] = []> = Ls extends readonly [
  infer H,
  ...infer T,
]
  ? Compatible<Prev, InOf<H>> extends true
    ? CheckChain<T, [OutOf<H>] extends [Same] ? Prev : OutOf<H>, [...Acc, H]>
    : [...Acc, ShapeMismatch<Prev, InOf<H>>, ...T]
  : Acc;

type FirstIn<Ls extends readonly unknown[]> = Ls extends readonly [infer H, ...infer T]
  ? [InOf<H>] extends [Same]
    ? FirstIn<T>
    : InOf<H>
  : Same;
type LastOut<Ls extends readonly unknown[], Prev = Same> = Ls extends readonly [infer H, ...infer T]
  ? LastOut<T, [OutOf<H>] extends [Same] ? Prev : OutOf<H>>
  : Prev;

// ---------------------------------------------------------------------------------------------
// Constructors

const DEFAULT_STD = 0.02;

/** Options of {@link dense}. */
export interface DenseOptions {
  readonly bias?: boolean;
  readonly activation?: Activation;
  /** Std of the normal kernel initialiser (default 0.02). */
  readonly initStd?: number;
}

/**
 * Fully connected layer `[..., inDim] → [..., outDim]`: `act(x · kernel + bias)`.
 * Parameters: `kernel [inDim, outDim]`, `bias [outDim]` (unless `bias: false`).
 * @example dense(768, 3072, { activation: 'gelu_new' })
 */
export const dense = <I extends number, O extends number>(inDim: I, outDim: O, opts: DenseOptions = {}): Layer<I, O> => ({
  kind: 'dense',
  inDim,
  outDim,
  bias: opts.bias ?? true,
  activation: opts.activation ?? 'identity',
  initStd: opts.initStd ?? DEFAULT_STD,
});

/**
 * Token embedding `[...] ids → [..., dim]`. Parameter: `embeddings [vocab, dim]`.
 * @example embedding(30000, 128)
 */
export const embedding = <D extends number>(vocab: number, dim: D, opts: { initStd?: number } = {}): Layer<'ids', D> => ({
  kind: 'embedding',
  vocab,
  dim,
  initStd: opts.initStd ?? DEFAULT_STD,
});

/**
 * Adds learned absolute position embeddings to `[batch, seq, dim]` (positions `0..seq-1`).
 * Parameter: `embeddings [maxLen, dim]`.
 * @example positionalEmbedding(512, 128)
 */
export const positionalEmbedding = <D extends number>(maxLen: number, dim: D, opts: { initStd?: number } = {}): Layer<D, D> => ({
  kind: 'positionalEmbedding',
  maxLen,
  dim,
  initStd: opts.initStd ?? DEFAULT_STD,
});

/**
 * Adds token-type (segment) embeddings, read from the side input `input` (default
 * `token_type_ids`; all zeros when absent). Parameter: `embeddings [types, dim]`.
 * @example tokenTypeEmbedding(2, 128)
 */
export const tokenTypeEmbedding = <D extends number>(
  types: number,
  dim: D,
  opts: { input?: string; initStd?: number } = {},
): Layer<D, D> => ({
  kind: 'tokenTypeEmbedding',
  types,
  dim,
  input: opts.input ?? 'token_type_ids',
  initStd: opts.initStd ?? DEFAULT_STD,
});

/**
 * Layer normalisation over the last axis. Parameters: `gamma [dim]` (ones), `beta [dim]` (zeros).
 * @example layerNorm(768, 1e-12)
 */
export const layerNorm = <D extends number>(dim: D, epsilon = 1e-12): Layer<D, D> => ({ kind: 'layerNorm', dim, epsilon });

/**
 * Dropout with the given rate (training only; identity in eval mode).
 * @example dropout(0.1)
 */
export const dropout = (rate: number): Layer<Same, Same> => ({ kind: 'dropout', rate });

/**
 * An element-wise activation (`softmax` over the last axis).
 * @example activation('gelu_new')
 */
export const activation = (fn: Activation): Layer<Same, Same> => ({ kind: 'activation', fn });
/** Exact GELU, `0.5·x·(1 + erf(x/√2))`. */
export const gelu: Layer<Same, Same> = activation('gelu');
/** Tanh-approximate GELU (`gelu_new` in Hugging Face), `0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))`. */
export const geluTanh: Layer<Same, Same> = activation('gelu_new');
/** `max(0, x)`. */
export const relu: Layer<Same, Same> = activation('relu');
/** `tanh(x)`. */
export const tanh: Layer<Same, Same> = activation('tanh');
/** Softmax over the last axis. */
export const softmax: Layer<Same, Same> = activation('softmax');
/** The identity layer. */
export const identity: Layer<Same, Same> = { kind: 'identity' };

/** Options of {@link multiHeadAttention}. */
export interface AttentionOptions {
  /** Width of one head (default `dim / heads`). */
  readonly headSize?: number;
  /** Side input with the 0/1 mask `[batch, seq]`; `null` for none (default `attention_mask`). */
  readonly maskInput?: string | null;
  /** Dropout on attention probabilities (default 0). */
  readonly dropout?: number;
  readonly initStd?: number;
  /**
   * Causal self-attention (GPT): position i attends only to positions <= i (default false).
   * Combines with the padding mask: both are applied.
   */
  readonly causal?: boolean;
}

/**
 * Multi-head self-attention `[batch, seq, dim] → [batch, seq, dim]`: softmax(q·kᵀ/√d + mask)·v,
 * heads merged, then the output projection. The 0/1 mask side input (`[batch, seq]` padding
 * mask, or `[batch, seq, seq]` per query) becomes the additive `(1 - mask)·(-1e9)`. With
 * `causal: true` the scores of keys after the query get `-1e30` in addition (so a query whose
 * past is all padding still never sees the future); the full score matrix is still computed, so
 * FLOPs are those of the non-causal layer.
 *
 * Parameters: `query|key|value.kernel [dim, heads·headSize]` and `.bias`,
 * `output.kernel [heads·headSize, dim]` and `.bias`; head h reads columns `h·headSize…(h+1)·headSize`.
 * A fused projection such as GPT-2's `c_attn` (`[dim, 3·dim]`, q|k|v along the columns) loads by
 * slicing its columns into the three kernels (and its bias likewise).
 * @example multiHeadAttention(768, 12)
 * @example multiHeadAttention(768, 12, { causal: true }) // GPT-style decoder attention
 */
export const multiHeadAttention = <D extends number>(dim: D, heads: number, opts: AttentionOptions = {}): Layer<D, D> => ({
  kind: 'attention',
  dim,
  heads,
  headSize: opts.headSize ?? dim / heads,
  maskInput: opts.maskInput === undefined ? 'attention_mask' : opts.maskInput,
  dropout: opts.dropout ?? 0,
  initStd: opts.initStd ?? DEFAULT_STD,
  ...(opts.causal ? { causal: true as const } : {}),
});

/**
 * Pools the first token: `[batch, seq, dim] → [batch, dim]`.
 * @example seq(firstToken, dense(768, 768, { activation: 'tanh' }))
 */
export const firstToken: Layer<Same, Same> = { kind: 'firstToken' };

/**
 * Picks positions along the sequence axis: `[batch, seq, dim] → [batch, k, dim]`, with positions
 * from the side input `input` (`[batch, k]` int32). Used to compute MLM logits only where tokens
 * were masked.
 * @example gatherPositions('masked_lm_positions')
 */
export const gatherPositions = (input: string): Layer<Same, Same> => ({ kind: 'gather', input });

/**
 * The transpose of a shared embedding as a projection `[..., dim] → [..., vocab]` (weight tying,
 * as in BERT/ALBERT's MLM decoder), with its own bias `bias [vocab]`.
 * @example
 * ```ts
 * const words = shared(embedding(30000, 128), 'embeddings.word');
 * const decoder = tiedUnembed(words); // Layer<128, number>
 * ```
 */
export const tiedUnembed = <D extends number>(
  target: Layer<'ids', D> & SharedNode,
  opts: { bias?: boolean } = {},
): Layer<D, number> => {
  const emb = innerEmbedding(target.layer);
  return {
    kind: 'unembed',
    target: target.name,
    vocab: emb?.vocab ?? -1,
    dim: emb?.dim ?? -1,
    bias: opts.bias ?? true,
  };
};

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

/**
 * `f` applied `times` times in sequence. Without {@link shared}, every copy has its own
 * parameters (stored under `0.`, `1.`, …); `repeat(shared(f), n)` uses one set.
 * @example repeat(block, 12)
 */
export const repeat = <I extends Dim | Same, O extends Dim | Same>(f: Layer<I, O> & EndoCheck<I, O>, times: number): Layer<I, I> =>
  ({ kind: 'repeat', layer: f, times }) as Layer<I, I>;

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
