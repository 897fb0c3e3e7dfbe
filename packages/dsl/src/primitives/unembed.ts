/**
 * `tiedUnembed(sharedEmbedding)`: the transpose of a shared embedding as a projection to the
 * vocabulary (weight tying, BERT/ALBERT's MLM decoder), with its own bias.
 * @example
 * ```ts
 * const words = shared(embedding(30000, 128), 'embeddings.word');
 * seq(words, dense(128, 128), tiedUnembed(words)); // Layer<'ids', number>
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { innerEmbedding, type Layer, type SharedNode } from '../layer.js';
import { joinPath } from '../paths.js';
import type { Primitive } from '../primitive.js';
import { param } from '../runtime.js';
import { elems, features, positive, tensorSig, withLast } from '../sig.js';
import { zeros } from './common.js';

/** The value of {@link tiedUnembed}. */
export interface UnembedNode {
  readonly kind: 'unembed';
  /** Name of the shared embedding whose transposed table is the projection. */
  readonly target: string;
  readonly vocab: number;
  readonly dim: number;
  readonly bias: boolean;
}

/**
 * The transpose of a shared embedding as a projection `[..., dim] → [..., vocab]` (weight tying,
 * as in BERT/ALBERT's MLM decoder), with its own bias `bias [vocab]`.
 * @example
 * ```ts
 * const words = shared(embedding(30000, 128), 'embeddings.word');
 * const decoder = tiedUnembed(words); // Layer<128, number>
 * ```
 */
export const tiedUnembed = <D extends number>(target: Layer<'ids', D> & SharedNode, opts: { bias?: boolean } = {}): Layer<D, number> => {
  const emb = innerEmbedding(target.layer);
  return { kind: 'unembed', target: target.name, vocab: emb?.vocab ?? -1, dim: emb?.dim ?? -1, bias: opts.bias ?? true };
};

/** The unembed primitive: its table is the tied embedding's (see {@link Primitive.tie}). */
export const unembedPrimitive: Primitive<UnembedNode> = {
  kind: 'unembed',
  check: (n) => positive('vocab', n.vocab) ?? positive('dim', n.dim),
  shape: (n, x) => E.map((s: typeof x) => withLast(s, n.vocab))(features(x, n.dim)),
  params: (n) => (n.bias ? [{ name: 'bias', shape: [n.vocab], init: zeros, decay: false }] : []),
  sideInputs: () => [],
  compile: (n, env) => {
    const table = env.tiedTable;
    if (table === undefined) throw new Error(`no embedding shared as "${n.target}"`);
    const b = n.bias ? joinPath(env.prefix, 'bias') : undefined;
    const vocab = n.vocab;
    return (xt, rt) => {
      const lead = xt.shape.slice(0, -1);
      const x2 = xt.rank === 2 ? (xt as tf.Tensor2D) : (tf.reshape(xt, [-1, xt.shape[xt.rank - 1] as number]) as tf.Tensor2D);
      const y = tf.fused.matMul({ a: x2, b: param(rt, table) as tf.Tensor2D, transposeB: true, ...(b ? { bias: param(rt, b) } : {}) });
      return xt.rank === 2 ? y : tf.reshape(y, [...lead, vocab]);
    };
  },
  flops: (n, _x, y) => 2 * (elems(y) / n.vocab) * n.dim * n.vocab + (n.bias ? elems(y) : 0),
  label: (n) => `unembed (tied to "${n.target}")`,
  codec: t.strict({ kind: t.literal('unembed'), target: t.string, vocab: t.number, dim: t.number, bias: t.boolean }),
  input: (n) => tensorSig([null, null, n.dim]),
  tie: (n) => ({ target: n.target, vocab: n.vocab, dim: n.dim }),
};
