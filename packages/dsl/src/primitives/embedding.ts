/**
 * Embeddings: `embedding` (token ids → vectors), `positionalEmbedding` (learned absolute
 * positions, added) and `tokenTypeEmbedding` (segment ids from a side input, added).
 * @example
 * ```ts
 * seq(embedding(30000, 128), positionalEmbedding(512, 128), tokenTypeEmbedding(2, 128));
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Layer } from '../layer.js';
import { joinPath } from '../paths.js';
import type { Primitive } from '../primitive.js';
import { param } from '../runtime.js';
import { dimsMatch, elems, features, need, positive, sequence, showShape, sideInput, stdOk, tensorSig, type SideInputSpec, type TensorSig } from '../sig.js';
import { DEFAULT_STD, normal } from './common.js';

/** The value of {@link embedding}. */
export interface EmbeddingNode {
  readonly kind: 'embedding';
  readonly vocab: number;
  readonly dim: number;
  readonly initStd: number;
}

/**
 * Token embedding `[...] ids → [..., dim]`. Parameter: `embeddings [vocab, dim]`, normal(0, initStd = 0.02).
 * @example embedding(30000, 128)
 */
export const embedding = <D extends number>(vocab: number, dim: D, opts: { initStd?: number } = {}): Layer<'ids', D> => ({
  kind: 'embedding',
  vocab,
  dim,
  initStd: opts.initStd ?? DEFAULT_STD,
});

/** The embedding primitive. */
export const embeddingPrimitive: Primitive<EmbeddingNode> = {
  kind: 'embedding',
  check: (n) => positive('vocab', n.vocab) ?? positive('dim', n.dim) ?? stdOk(n.initStd),
  shape: (n, x) => (x.dtype === 'int32' ? E.right(tensorSig([...x.shape, n.dim])) : E.left(`expected int32 ids, got float32 ${showShape(x.shape)}`)),
  params: (n) => [{ name: 'embeddings', shape: [n.vocab, n.dim], init: normal(n.initStd), decay: true }],
  sideInputs: () => [],
  compile: (_n, env) => {
    const p = joinPath(env.prefix, 'embeddings');
    return (x, rt) => tf.gather(param(rt, p), x);
  },
  flops: () => 0,
  label: (n) => `embedding ${n.vocab}×${n.dim}`,
  codec: t.strict({ kind: t.literal('embedding'), vocab: t.number, dim: t.number, initStd: t.number }),
  input: () => tensorSig([null, null], 'int32'),
};

/** The value of {@link positionalEmbedding}. */
export interface PositionalEmbeddingNode {
  readonly kind: 'positionalEmbedding';
  readonly maxLen: number;
  readonly dim: number;
  readonly initStd: number;
}

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

/** The sequence length of `[..., seq, dim]` (null when unknown). */
const seqLen = (x: TensorSig): number | null => x.shape[x.shape.length - 2] ?? null;

/** The positionalEmbedding primitive. */
export const positionalEmbeddingPrimitive: Primitive<PositionalEmbeddingNode> = {
  kind: 'positionalEmbedding',
  check: (n) => positive('maxLen', n.maxLen) ?? positive('dim', n.dim) ?? stdOk(n.initStd),
  shape: (n, x) =>
    E.chain((t: TensorSig): E.Either<string, TensorSig> => {
      const len = seqLen(t);
      return len !== null && len > n.maxLen ? E.left(`sequence length ${len} exceeds maxLen ${n.maxLen}`) : E.right(t);
    })(x.shape.length >= 2 ? features(x, n.dim) : E.left(`expected [..., seq, ${n.dim}], got ${showShape(x.shape)}`)),
  params: (n) => [{ name: 'embeddings', shape: [n.maxLen, n.dim], init: normal(n.initStd), decay: true }],
  sideInputs: () => [],
  compile: (n, env) => {
    const p = joinPath(env.prefix, 'embeddings');
    const dim = n.dim;
    return (x, rt) => tf.add(x, tf.slice(param(rt, p), [0, 0], [x.shape[x.rank - 2] as number, dim]));
  },
  flops: (_n, _x, y) => elems(y),
  label: (n) => `positionalEmbedding ${n.maxLen}×${n.dim}`,
  codec: t.strict({ kind: t.literal('positionalEmbedding'), maxLen: t.number, dim: t.number, initStd: t.number }),
  input: (n) => tensorSig([null, null, n.dim]),
};

/** The value of {@link tokenTypeEmbedding}. */
export interface TokenTypeEmbeddingNode {
  readonly kind: 'tokenTypeEmbedding';
  readonly types: number;
  readonly dim: number;
  /** Name of the side input holding the type ids (`[batch, seq]` int32). */
  readonly input: string;
  readonly initStd: number;
}

/**
 * Adds token-type (segment) embeddings, read from the side input `input` (default
 * `token_type_ids`; all zeros when absent). Parameter: `embeddings [types, dim]`.
 * @example tokenTypeEmbedding(2, 128)
 */
export const tokenTypeEmbedding = <D extends number>(types: number, dim: D, opts: { input?: string; initStd?: number } = {}): Layer<D, D> => ({
  kind: 'tokenTypeEmbedding',
  types,
  dim,
  input: opts.input ?? 'token_type_ids',
  initStd: opts.initStd ?? DEFAULT_STD,
});

const typeIds = (n: TokenTypeEmbeddingNode): SideInputSpec => ({ name: n.input, dtype: 'int32', ranks: [2], required: false, what: 'token type ids [batch, seq]' });

/** The tokenTypeEmbedding primitive. */
export const tokenTypeEmbeddingPrimitive: Primitive<TokenTypeEmbeddingNode> = {
  kind: 'tokenTypeEmbedding',
  check: (n) => positive('types', n.types) ?? positive('dim', n.dim) ?? need(n.input !== '', 'input name must not be empty') ?? stdOk(n.initStd),
  shape: (n, x, env) =>
    E.chain((s: TensorSig) =>
      E.chain((ids: TensorSig | undefined): E.Either<string, TensorSig> =>
        ids && !dimsMatch(ids.shape[1], s.shape[1])
          ? E.left(`side input "${n.input}" ${showShape(ids.shape)} does not fit the sequence length of the stream ${showShape(s.shape)}`)
          : E.right(s),
      )(sideInput(env.side, typeIds(n), s)),
    )(sequence(x, n.dim)),
  params: (n) => [{ name: 'embeddings', shape: [n.types, n.dim], init: normal(n.initStd), decay: true }],
  sideInputs: (n) => [typeIds(n)],
  compile: (n, env) => {
    const p = joinPath(env.prefix, 'embeddings');
    const { input, dim } = n;
    return (x, rt) => {
      const ids = rt.side[input];
      const table = param(rt, p);
      return tf.add(x, ids ? tf.gather(table, ids) : tf.slice(table, [0, 0], [1, dim]));
    };
  },
  flops: (_n, _x, y) => elems(y),
  label: (n) => `tokenTypeEmbedding ${n.types}×${n.dim}`,
  codec: t.strict({ kind: t.literal('tokenTypeEmbedding'), types: t.number, dim: t.number, input: t.string, initStd: t.number }),
  input: (n) => tensorSig([null, null, n.dim]),
};
