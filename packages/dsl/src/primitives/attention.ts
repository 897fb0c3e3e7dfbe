/**
 * `multiHeadAttention(dim, heads, opts)`: multi-head self-attention, optionally causal, with an
 * optional padding (or per-query) mask read from a side input.
 * @example
 * ```ts
 * multiHeadAttention(768, 12);                    // BERT: reads `attention_mask` when given
 * multiHeadAttention(768, 12, { causal: true });  // GPT: position i sees positions <= i only
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { linear } from '../kernels.js';
import type { Layer } from '../layer.js';
import { joinPath } from '../paths.js';
import { optional, type Init, type Primitive } from '../primitive.js';
import { applyDropout, param, scoreMask, type Runtime } from '../runtime.js';
import { dimsMatch, positive, rateIn, sequence, showShape, sideInput, stdOk, tensorSig, type SideInputSpec, type TensorSig } from '../sig.js';
import { normal, zeros } from './common.js';
import { glorotUniform, initC } from './init.js';

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
  /** Std of normal(0, std) projection kernels (the BERT reference); absent: {@link AttentionNode.init} or Glorot uniform. */
  readonly initStd?: number;
  /** An explicit initialiser of the four projection kernels. */
  readonly init?: Init;
  /**
   * Causal (autoregressive): position i attends only to positions <= i. Absent (not `false`)
   * when off, so the JSON form and structural hash of non-causal models are unchanged.
   */
  readonly causal?: true;
}

/** Options of {@link multiHeadAttention}. */
export interface AttentionOptions {
  /** Width of one head (default `dim / heads`). */
  readonly headSize?: number;
  /** Side input with the 0/1 mask `[batch, seq]`; `null` for none (default `attention_mask`). */
  readonly maskInput?: string | null;
  /** Dropout on attention probabilities (default 0). */
  readonly dropout?: number;
  /** Std of normal(0, std) projection kernels (the BERT/ALBERT reference initialiser). */
  readonly initStd?: number;
  /** Projection kernel initialiser (default Glorot uniform). */
  readonly init?: Init;
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
  ...(opts.initStd !== undefined ? { initStd: opts.initStd } : {}),
  ...(opts.init !== undefined ? { init: opts.init } : {}),
  ...(opts.causal ? { causal: true as const } : {}),
});

/**
 * The parameter paths and the projections of one attention application, shared by every
 * interpreter that runs attention (`compile`'s kernel, the incremental decoders): change the
 * parameters or the head layout here, and both follow.
 * @example
 * ```ts
 * const h = attentionHeads({ kind: 'attention', dim: 8, heads: 2, headSize: 4, maskInput: null, dropout: 0 }, 'encoder.attention');
 * h.paths.query.kernel;                   // 'encoder.attention.query.kernel'
 * const { q, k, v } = h.project(x, rt);   // x [b, s, 8] → each [b, 2, s, 4]; q already scaled by 1/√4
 * const y = h.merge(tf.matMul(probs, v), rt); // [b, 2, s, 4] → [b, s, 8] (heads merged, output projection)
 * ```
 */
export interface AttentionHeads {
  /** `query|key|value|output` → their `kernel` and `bias` paths under the application's prefix. */
  readonly paths: { readonly [P in 'query' | 'key' | 'value' | 'output']: { readonly kernel: string; readonly bias: string } };
  /** `[b, s, dim]` → queries (scaled by `1/√headSize`), keys and values, each `[b, heads, s, headSize]`. */
  readonly project: (x: tf.Tensor, rt: Runtime) => { readonly q: tf.Tensor; readonly k: tf.Tensor; readonly v: tf.Tensor };
  /** Per-head context `[b, heads, s, headSize]` → `[b, s, dim]`: heads merged, then the output projection. */
  readonly merge: (ctx: tf.Tensor, rt: Runtime) => tf.Tensor;
}

/**
 * {@link AttentionHeads} of an attention node whose parameters live under `prefix`.
 * @example attentionHeads(node, 'h.0.attn').paths.output.bias // 'h.0.attn.output.bias'
 */
export const attentionHeads = (n: AttentionNode, prefix: string): AttentionHeads => {
  const at = (s: string) => ({ kernel: joinPath(prefix, s, 'kernel'), bias: joinPath(prefix, s, 'bias') });
  const paths = { query: at('query'), key: at('key'), value: at('value'), output: at('output') };
  const { heads, headSize, dim } = n;
  const scale = 1 / Math.sqrt(headSize);
  const proj = (x2: tf.Tensor, rt: Runtime, p: { kernel: string; bias: string }) => linear(x2, param(rt, p.kernel), param(rt, p.bias));
  return {
    paths,
    project: (xt, rt) => {
      const [b, s] = xt.shape as [number, number, number];
      const x2 = tf.reshape(xt, [b * s, dim]);
      const split = (u: tf.Tensor) => tf.transpose(tf.reshape(u, [b, s, heads, headSize]), [0, 2, 1, 3]);
      // scale q ([B·S, h·d]) rather than the scores ([B, h, S, S]): fewer elements when S > d
      return { q: split(tf.mul(proj(x2, rt, paths.query), scale)), k: split(proj(x2, rt, paths.key)), v: split(proj(x2, rt, paths.value)) };
    },
    merge: (ctx, rt) => {
      const [b, , s] = ctx.shape as [number, number, number, number];
      const c2 = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [b * s, heads * headSize]);
      return tf.reshape(proj(c2, rt, paths.output), [b, s, dim]);
    },
  };
};

const maskSpec = (name: string): SideInputSpec => ({ name, dtype: 'any', ranks: [2, 3], required: false, what: '0/1 attention mask [batch, seq] or [batch, seq, seq]' });

/** The attention primitive. */
export const attentionPrimitive: Primitive<AttentionNode> = {
  kind: 'attention',
  check: (n) => positive('dim', n.dim) ?? positive('heads', n.heads) ?? positive('headSize', n.headSize) ?? rateIn('dropout', n.dropout) ?? stdOk(n.initStd),
  shape: (n, x, env) =>
    E.chain((s: TensorSig) =>
      n.maskInput === null
        ? E.right(s)
        : E.chain((m: TensorSig | undefined): E.Either<string, TensorSig> => {
            if (!m) return E.right(s);
            const len = s.shape[1];
            return m.shape.slice(1).every((d) => dimsMatch(d, len))
              ? E.right(s)
              : E.left(`side input "${n.maskInput}" ${showShape(m.shape)} does not fit the sequence length ${len ?? '*'} of the stream ${showShape(s.shape)}`);
          })(sideInput(env.side, maskSpec(n.maskInput), s)),
    )(sequence(x, n.dim)),
  params: (n) => {
    const inner = n.heads * n.headSize;
    const kernel = (fanIn: number, fanOut: number): Init => (n.initStd !== undefined ? normal(n.initStd) : (n.init ?? glorotUniform(fanIn, fanOut)));
    const proj = (name: string) => [
      { name: `${name}.kernel`, shape: [n.dim, inner], init: kernel(n.dim, inner), decay: true },
      { name: `${name}.bias`, shape: [inner], init: zeros, decay: false },
    ];
    return [
      ...proj('query'),
      ...proj('key'),
      ...proj('value'),
      { name: 'output.kernel', shape: [inner, n.dim], init: kernel(inner, n.dim), decay: true },
      { name: 'output.bias', shape: [n.dim], init: zeros, decay: false },
    ];
  },
  sideInputs: (n) => (n.maskInput === null ? [] : [maskSpec(n.maskInput)]),
  compile: (n, env) => {
    const heads = attentionHeads(n, env.prefix);
    const { maskInput, dropout: attnDrop } = n;
    const causal = n.causal === true;
    return (xt, rt) => {
      const { q, k, v } = heads.project(xt, rt);
      let scores = tf.matMul(q, k, false, true);
      const mask = scoreMask(rt, maskInput, causal, xt.shape[1] as number);
      if (mask) scores = tf.add(scores, mask);
      const probs = applyDropout(tf.softmax(scores), attnDrop, rt);
      return heads.merge(tf.matMul(probs, v), rt);
    };
  },
  // causal attention computes the same full score matrix (then masks it): the same count
  flops: (n, x) => {
    const [b, s] = x.shape as [number, number, number];
    const inner = n.heads * n.headSize;
    const proj = 4 * (2 * b * s * n.dim * inner + b * s * inner);
    const scores = 2 * b * n.heads * s * s * n.headSize;
    return proj + 2 * scores + 7 * b * n.heads * s * s;
  },
  label: (n) => `attention ${n.heads}×${n.headSize}${n.causal ? ' causal' : ''}`,
  codec: t.strict({
    kind: t.literal('attention'),
    dim: t.number,
    heads: t.number,
    headSize: t.number,
    maskInput: t.union([t.string, t.null]),
    dropout: t.number,
    initStd: optional(t.number),
    init: optional(initC),
    causal: optional(t.literal(true)),
  }),
  input: (n) => tensorSig([null, null, n.dim]),
};
