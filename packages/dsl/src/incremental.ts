/**
 * Incremental decoding: a second compiler of the same model value, for generation. A causal
 * model (GPT-2, or any user's model built from position-wise layers, causal attention and
 * position embeddings) is interpreted with one cache of keys and values per application of an
 * attention layer, so each new token costs one position's work instead of the whole window's;
 * and the stream is cut to its last position after the last layer that mixes positions, so the
 * LM head runs once per step, not once per position.
 *
 * The model stays a value: {@link compileIncremental} reads it (as `compile` does, with the same
 * parameter paths) and returns a plain function `(params, cache, ids) → { logits, cache }` whose
 * cache is a value too ({@link KvCache}: tensors in, new tensors out; the caller disposes the old
 * one with {@link disposeCache}). A `repeat(shared(block), N)` gets N caches (one per
 * application), not one per parameter set. A model that cannot be decoded this way (non-causal
 * attention, a convolution or pooling over the sequence, a gather of positions, a transpose of
 * the sequence axis) is refused as a {@link ModelError} naming the node's path; such a model can
 * still be run window by window with {@link compileLastPosition}, which computes the logits at
 * the last position only.
 *
 * Limits: every row of a batch has the same length (no padding: the mask side input is not read);
 * a learned position embedding bounds `cache.length + new tokens` by its `maxLen` (beyond it the
 * step throws a {@link ModelInputError}, as `compile`'s function does for a shape that does not fit;
 * there is no sliding window, since positions beyond `maxLen` have no embedding).
 *
 * @example
 * ```ts
 * const model = seq(embedding(50, 8), positionalEmbedding(16, 8), residual(multiHeadAttention(8, 2, { causal: true })), dense(8, 50));
 * const params = unwrap(init(model, 0));
 * const dec = unwrap(compileIncremental(model));
 * const a = dec.step(params, emptyCache(), tf.tensor2d([[3, 4, 5]], undefined, 'int32')); // prompt: logits [1, 1, 50]
 * const b = dec.step(params, a.cache, tf.tensor2d([[7]], undefined, 'int32'));             // one more token
 * disposeCache(a.cache);
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { compile, ModelInputError } from './compile.js';
import { graphRunner, type GraphEngine, type GraphOptions } from './graph.js';
import type { CombinatorNode, Node, PrimitiveKind } from './layer.js';
import { tiedTablePath } from './params.js';
import { joinPath, primitivePrefix, rootScope, stepScope, type Scope } from './paths.js';
import { attentionHeads, type AttentionNode } from './primitives/attention.js';
import type { PositionalEmbeddingNode } from './primitives/embedding.js';
import { primitiveOf } from './primitives/index.js';
import { sinusoidTable, type SinusoidalPositionsNode } from './primitives/signals.js';
import { param, type Params, type Runtime } from './runtime.js';
import { inferShape, sideInputs } from './shape.js';
import { modelError, tensorSig, type ModelError, type TensorSig } from './sig.js';
import { childScopes, childWhere, children, combinatorOf, foldNodes, locateError, primitiveWhere } from './tree.js';

/**
 * How a primitive behaves along the sequence, for decoding:
 * - `pointwise`: position i of the output depends on position i of the input only;
 * - `position`: pointwise, plus the absolute position (position embeddings): needs the offset;
 * - `attention`: mixes positions; decodable with a cache when causal;
 * - a string: mixes (or reshapes) positions in a way a cache cannot serve: why.
 *
 * Typed per kind, so a new primitive does not compile until it says how it decodes.
 */
type Decoding = 'pointwise' | 'position' | 'attention' | { readonly refuse: string; readonly reduces?: true };

const DECODING: { readonly [K in PrimitiveKind]: Decoding } = {
  dense: 'pointwise',
  embedding: 'pointwise',
  positionalEmbedding: 'position',
  tokenTypeEmbedding: 'pointwise',
  layerNorm: 'pointwise',
  dropout: 'pointwise',
  activation: 'pointwise',
  attention: 'attention',
  firstToken: { refuse: 'takes the first position for the whole sequence', reduces: true },
  gather: { refuse: 'picks positions from a side input' },
  unembed: 'pointwise',
  identity: 'pointwise',
  sinusoidalPositions: 'position',
  stepSignal: 'pointwise',
  bias: 'pointwise',
  conv1d: { refuse: 'a convolution reads neighbouring positions, later ones included' },
  pool: { refuse: 'pools over the whole sequence', reduces: true },
  transpose: { refuse: 'transposes the sequence axis' },
};

/** One attention application's cached keys and values, `[batch, heads, length, headSize]` each. */
export interface KvEntry {
  readonly key: tf.Tensor;
  readonly value: tf.Tensor;
}

/**
 * The state of incremental decoding: how many positions are cached, and one {@link KvEntry}
 * per attention application, in the order a forward pass applies them.
 * @example emptyCache() // { length: 0, layers: [] }
 */
export interface KvCache {
  /** Positions already seen: the position of the next token. */
  readonly length: number;
  readonly layers: readonly KvEntry[];
}

/**
 * The cache before the prompt.
 * @example dec.step(params, emptyCache(), promptIds)
 */
export const emptyCache = (): KvCache => ({ length: 0, layers: [] });

/**
 * Disposes a cache's tensors (after the step that consumed it).
 * @example const next = dec.step(params, cache, ids); disposeCache(cache); cache = next.cache;
 */
export const disposeCache = (c: KvCache): void => {
  for (const l of c.layers) {
    l.key.dispose();
    l.value.dispose();
  }
};

/** What one decoding step returns: the logits (`[batch, 1, vocab]`, or `[batch, new, vocab]` with `allPositions`) and the new cache. */
export interface DecodeStep {
  readonly logits: tf.Tensor;
  readonly cache: KvCache;
}

/**
 * A compiled incremental decoder.
 * @example const { logits, cache } = dec.step(params, emptyCache(), ids);
 */
export interface IncrementalModel {
  /**
   * Runs the new tokens `ids` (`[batch, n]` int32, n ≥ 1) after the cached ones. Does not dispose
   * `cache` (the caller does, once it is done with it). Throws a {@link ModelInputError} when
   * `cache.length + n` exceeds {@link IncrementalModel.maxPositions} or `ids` is not `[batch, n]` int32.
   */
  readonly step: (params: Params, cache: KvCache, ids: tf.Tensor) => DecodeStep;
  /** The positions the model has (the smallest learned position embedding's `maxLen`; undefined: no limit). */
  readonly maxPositions: number | undefined;
  /** Attention applications per forward pass: the number of entries of every cache. */
  readonly applications: number;
}

/** Options of {@link compileIncremental} and {@link compileLastPosition}. */
export interface DecodeOptions {
  /** For a model ending in a fanout: the output holding the logits (default `logits`, or its only output). */
  readonly output?: string;
  /** Name of the ids input the model is compiled for (default `input`); only checked, the step takes ids directly. */
  readonly input?: string;
  /** Return the logits at every new position, not only the last (default false). */
  readonly allPositions?: boolean;
}

type Value = tf.Tensor | Record<string, tf.Tensor>;

/** What a step's kernels share: the offset of the new tokens and the caches read and written. */
interface StepState {
  readonly offset: number;
  readonly past: readonly KvEntry[];
  readonly next: KvEntry[];
  /** Set for a fixed-capacity cache (the graph decoder): positions and masks as tensors. */
  readonly fixed?: FixedState;
}

/** A fixed-capacity step's tensors, made once per step from the position argument and shared by every attention application. */
interface FixedState {
  readonly capacity: number;
  /** `[s]` int32: the absolute positions of the new tokens. */
  readonly at: tf.Tensor;
  /** `[s, C]` float: one-hot rows of `at`. */
  readonly write: tf.Tensor;
  /** `[1, 1, C, 1]`: 1 at the written positions, 0 elsewhere (with s = 1: the one-hot column of `at`). */
  readonly writeColumn: tf.Tensor;
  /** `[1, 1, C, 1]`: 0 at the written positions, 1 elsewhere. */
  readonly keep: tf.Tensor;
  /** `[1, 1, s, C]`: -1e30 where key c is after query j's position. */
  readonly bias: tf.Tensor;
  /** Sinusoid tables `[C, dim]` by base and dim. */
  readonly signals: ReadonlyMap<string, tf.Tensor>;
}
type Fn = (x: Value, rt: Runtime, st: StepState) => Value;

const asTensor = (v: Value): tf.Tensor => {
  if (v instanceof tf.Tensor) return v;
  throw new Error(`expected a tensor, got named outputs {${Object.keys(v).join(', ')}}`);
};

/** The stream cut to its last position along axis 1 (`[b, s, …] → [b, 1, …]`). */
const lastPosition = (v: Value): Value => {
  const x = asTensor(v);
  const s = x.shape[1] as number;
  if (s === 1) return x;
  const begin = x.shape.map((_, i) => (i === 1 ? s - 1 : 0));
  const size = x.shape.map((d, i) => (i === 1 ? 1 : d));
  return tf.slice(x, begin, size);
};

const sigOf = (t: tf.Tensor): TensorSig => tensorSig(t.shape, t.dtype === 'int32' ? 'int32' : 'float32');

const decodingOf = (n: Node): Decoding | undefined => (primitiveOf(n) ? DECODING[n.kind as PrimitiveKind] : undefined);

/** True when a subtree holds a node whose output at position i is not a function of position i of its input alone. */
const mixes = (n: Node): boolean => foldNodes(n, false, (a, x) => a || (decodingOf(x) !== undefined && decodingOf(x) !== 'pointwise'));

/** The first node a cache cannot serve, with its readable path, and why. */
const refusal = (model: Node): ModelError | undefined => {
  const go = (n: Node, where: string): ModelError | undefined => {
    const d = decodingOf(n);
    if (d !== undefined) {
      const here = primitiveWhere(where, n);
      if (typeof d === 'object') return modelError(here, `cannot be decoded with a key/value cache: ${d.refuse}`);
      if (d === 'attention' && (n as AttentionNode).causal !== true)
        return modelError(here, 'cannot be decoded with a key/value cache: the attention is not causal (position i sees later positions)');
      return undefined;
    }
    for (const [k, c] of children(n)) {
      const bad = go(c, childWhere(where, n, k));
      if (bad) return bad;
    }
    return undefined;
  };
  return go(model, '');
};

const reduces = (model: Node): boolean => foldNodes(model, false, (a, x) => a || (typeof decodingOf(x) === 'object' && (decodingOf(x) as { reduces?: true }).reduces === true));

/** The output key a fanout at the end of the model is read at, or why none. */
const pickOutput = (n: Node, name: string | undefined): E.Either<ModelError, string | undefined> => {
  if (n.kind === 'fanout') {
    const keys = Object.keys(n.outputs);
    const key = name ?? (keys.includes('logits') ? 'logits' : keys.length === 1 ? keys[0] : undefined);
    if (key === undefined || !keys.includes(key)) return E.left(modelError('fanout', `no output ${JSON.stringify(name ?? 'logits')} to decode (outputs: ${keys.join(', ')})`));
    return E.right(key);
  }
  if (n.kind === 'seq' && n.layers.length > 0) return pickOutput(n.layers[n.layers.length - 1] as Node, name);
  if (n.kind === 'named') return pickOutput(n.layer, name);
  return name === undefined ? E.right(undefined) : E.left(modelError('', `output ${JSON.stringify(name)} requested, but the model does not end in a fanout`));
};

interface Env {
  readonly tables: Map<string, string>;
  /** Cached decoding (attention and positions read the step state); false: plain kernels over the whole window. */
  readonly cached: boolean;
  readonly output: string | undefined;
}

/**
 * The incremental kernel of a causal attention: queries of the new positions against cached +
 * new keys. Growing cache (eager): the new keys are appended. Fixed capacity: they are written at
 * their positions into the preallocated cache, and keys beyond each query's position are masked.
 * The projections and their parameter paths are attention's own ({@link attentionHeads}).
 */
const attentionStep = (n: AttentionNode, prefix: string): Fn => {
  const heads = attentionHeads(n, prefix);
  return (xv, rt, st) => {
    const xt = asTensor(xv);
    const s = xt.shape[1] as number;
    const { q, k, v } = heads.project(xt, rt);
    const past = st.past[st.next.length];
    let keys: tf.Tensor;
    let values: tf.Tensor;
    let bias: tf.Tensor | undefined;
    if (st.fixed) {
      if (!past) throw new Error(`fixed-capacity cache has ${st.past.length} entries; attention application ${st.next.length} has none`);
      keys = writeAt(past.key, k, st.fixed);
      values = writeAt(past.value, v, st.fixed);
      bias = st.fixed.bias;
    } else {
      keys = past ? tf.concat([past.key, k], 2) : k;
      values = past ? tf.concat([past.value, v], 2) : v;
      // new position j (absolute offset + j) sees keys 0 … offset + j
      if (s > 1) bias = tf.reshape(tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([s, st.offset + s]), -1, st.offset)), -1e30), [1, 1, s, st.offset + s]);
    }
    st.next.push({ key: keys, value: values });
    let scores = tf.matMul(q, keys, false, true); // [b, h, s, T + s] (fixed: [b, h, s, capacity])
    if (bias) scores = tf.add(scores, bias);
    return heads.merge(tf.matMul(tf.softmax(scores), values), rt);
  };
};

/**
 * `cache` (`[b, h, C, d]`) with rows `at` replaced by `fresh` (`[b, h, s, d]`), as one-hot
 * masks: no host read of the positions, the same shapes at every step. Exact: every kept value is
 * multiplied by 1 and every written one is the sum of one product by 1 and products by 0.
 */
const writeAt = (cache: tf.Tensor, fresh: tf.Tensor, f: FixedState): tf.Tensor => {
  const [b, h, s, d] = fresh.shape as [number, number, number, number];
  const kept = tf.mul(cache, f.keep);
  if (s === 1) return tf.add(kept, tf.mul(f.writeColumn, fresh));
  // [C, s] · [s, b·h·d]: row c of the result is fresh's row at position c (or zeros)
  const rows = tf.reshape(tf.transpose(fresh, [2, 0, 1, 3]), [s, b * h * d]);
  const placed = tf.transpose(tf.reshape(tf.matMul(f.write, rows, true, false), [f.capacity, b, h, d]), [1, 2, 0, 3]);
  return tf.add(kept, placed);
};

/** Learned position embeddings at positions offset … offset + s - 1 (fixed capacity: gathered at the position tensor). */
const positionsStep = (n: PositionalEmbeddingNode, prefix: string): Fn => {
  const p = joinPath(prefix, 'embeddings');
  return (xv, rt, st) => {
    const x = asTensor(xv);
    if (st.fixed) return tf.add(x, tf.gather(param(rt, p), st.fixed.at));
    return tf.add(x, tf.slice(param(rt, p), [st.offset, 0], [x.shape[x.rank - 2] as number, n.dim]));
  };
};

const signalKey = (base: number, dim: number): string => `${base}:${dim}`;

/** Fixed sinusoids at positions offset … offset + s - 1 (fixed capacity: gathered from the step's table argument). */
const sinusoidStep = (n: SinusoidalPositionsNode): Fn => (xv, _rt, st) => {
  const x = asTensor(xv);
  const [, s, d] = x.shape as [number, number, number];
  if (st.fixed) {
    const table = st.fixed.signals.get(signalKey(n.base, d));
    if (!table) throw new Error(`no sinusoid table ${signalKey(n.base, d)} among the step's arguments`);
    return tf.add(x, tf.gather(table, st.fixed.at));
  }
  const table = sinusoidTable(st.offset + s, d, n.base).subarray(st.offset * d);
  return tf.add(x, tf.tensor2d(table, [s, d]));
};

/** Compiles a node; with `last`, the result may already be cut to the last position (then `cut` is true). */
const build = (n: Node, scope: Scope, env: Env, last: boolean): { readonly fn: Fn; readonly cut: boolean } => {
  const p = primitiveOf(n);
  if (p) {
    const owns = p.params(n as never).length > 0;
    const prefix = owns ? primitivePrefix(scope, n.kind) : '';
    if (env.cached && n.kind === 'attention') return { fn: attentionStep(n, prefix), cut: false };
    if (env.cached && n.kind === 'positionalEmbedding') return { fn: positionsStep(n, prefix), cut: false };
    if (env.cached && n.kind === 'sinusoidalPositions') return { fn: sinusoidStep(n), cut: false };
    const tie = p.tie?.(n as never);
    const k = p.compile(n as never, { prefix, tiedTable: tie ? env.tables.get(tie.target) : undefined });
    if (last && !mixes(n)) return { fn: (x, rt) => k(asTensor(lastPosition(x)), rt), cut: true };
    return { fn: (x, rt) => k(asTensor(x), rt), cut: false };
  }
  const c = n as CombinatorNode;
  switch (c.kind) {
    case 'shared':
    case 'named': {
      const [scope0] = childScopes(c, scope);
      return build(c.layer, scope0 as Scope, env, last);
    }
    case 'seq': {
      const scopes = childScopes(c, scope);
      // cut after the last child that mixes positions: everything after it runs on one position
      let k = -1;
      if (last) for (let i = 0; i < c.layers.length; i++) if (mixes(c.layers[i] as Node)) k = i;
      const parts: Fn[] = [];
      let cut = false;
      if (last && k === -1) {
        parts.push((x) => lastPosition(x));
        cut = true;
      }
      c.layers.forEach((l, i) => {
        const b = build(l, scopes[i] as Scope, env, last && i === k);
        parts.push(b.fn);
        if (i === k) {
          if (!b.cut) parts.push((x) => lastPosition(x));
          cut = true;
        }
      });
      return { fn: (x, rt, st) => parts.reduce((acc, f) => f(acc, rt, st), x), cut };
    }
    case 'fanout': {
      const scopes = childScopes(c, scope);
      const entries = Object.entries(c.outputs);
      const i = entries.findIndex(([key]) => key === env.output);
      if (env.output !== undefined && i >= 0) {
        // the other outputs are not computed (their parameters are not read)
        return build((entries[i] as [string, Node])[1], scopes[i] as Scope, env, last);
      }
      const fs = entries.map(([key, l], j) => [key, build(l, scopes[j] as Scope, env, false).fn] as const);
      return {
        fn: (x, rt, st) => {
          const out: Record<string, tf.Tensor> = {};
          for (const [key, f] of fs) out[key] = asTensor(f(x, rt, st));
          return out;
        },
        cut: false,
      };
    }
    case 'branch': {
      const scopes = childScopes(c, scope);
      const fs = combinatorOf(c)
        .children(c)
        .map(([, l], i) => build(l, scopes[i] as Scope, env, false).fn);
      const merge = c.merge;
      return {
        fn: (x, rt, st) => {
          const outs = fs.map((f) => asTensor(f(x, rt, st)));
          if (merge === 'concat') return tf.concat(outs, -1);
          return outs.length === 1 ? (outs[0] as tf.Tensor) : outs.length === 2 ? tf.add(outs[0] as tf.Tensor, outs[1] as tf.Tensor) : tf.addN(outs);
        },
        cut: false,
      };
    }
    case 'repeat': {
      const times = c.times;
      // the step signal's scope is taken before the copies' (the order compile and walkScoped use)
      const step = c.step ? build(c.step, stepScope(scope), env, false).fn : undefined;
      const fs = childScopes(c, scope).map((s) => build(c.layer, s, env, false).fn);
      const at = (i: number): Fn => (fs.length === 1 ? (fs[0] as Fn) : (fs[i] as Fn));
      return {
        fn: (x, rt, st) => {
          const outer = rt.step;
          let y = x;
          for (let i = 0; i < times; i++) {
            rt.step = i;
            if (step) y = step(y, rt, st);
            y = at(i)(y, rt, st);
          }
          rt.step = outer;
          return y;
        },
        cut: false,
      };
    }
  }
};

const tablesOf = (model: Node): Map<string, string> =>
  foldNodes(model, new Map<string, string>(), (m, n) => {
    const tie = primitiveOf(n)?.tie?.(n as never);
    if (tie && !m.has(tie.target)) {
      const t = tiedTablePath(model, tie.target);
      if (t) m.set(tie.target, t);
    }
    return m;
  });

/**
 * The positions a model has: the smallest `maxLen` of its learned position embeddings
 * (undefined: none, no limit in the value).
 * @example modelPositions(seq(embedding(10, 4), positionalEmbedding(64, 4))) // 64
 */
export const modelPositions = (model: Node): number | undefined =>
  foldNodes<number | undefined>(model, undefined, (m, n) => (n.kind === 'positionalEmbedding' ? Math.min(m ?? Infinity, n.maxLen) : m));

/** The attention applications of one forward pass, in the order the step runs them (a repeat's copies each; a fanout's selected output only). */
const applicationsOf = (model: Node, output: string | undefined): AttentionNode[] => {
  const go = (n: Node): AttentionNode[] => {
    if (n.kind === 'attention') return [n];
    if (n.kind === 'repeat') return Array.from({ length: n.times }, () => [...(n.step ? go(n.step) : []), ...go(n.layer)]).flat();
    if (n.kind === 'fanout' && output !== undefined && Object.hasOwn(n.outputs, output)) return go(n.outputs[output] as Node);
    return children(n).flatMap(([, c]) => go(c));
  };
  return go(model);
};

const validate = (model: Node, o: DecodeOptions): E.Either<ModelError, string | undefined> => {
  const output = pickOutput(model, o.output);
  if (E.isLeft(output)) return output;
  const checked = compile(model, { ...(o.input ? { input: o.input } : {}), ...(output.right !== undefined ? { outputs: [output.right] } : {}) });
  if (E.isLeft(checked)) return checked;
  return output;
};

const checkIds = (ids: tf.Tensor): void => {
  if (ids.rank !== 2 || ids.dtype !== 'int32' || (ids.shape[1] as number) < 1)
    throw new ModelInputError(modelError('', `expected new token ids [batch, n ≥ 1] int32, got [${ids.shape.join(', ')}] ${ids.dtype}`));
};

/**
 * Compiles a causal model for incremental decoding with a key/value cache (see the module
 * comment). Refuses, as a value with the node's path, a model a cache cannot serve, and any
 * model `compile` refuses.
 * @example
 * ```ts
 * const gpt = seq(embedding(10, 4), positionalEmbedding(64, 4), repeat(residual(multiHeadAttention(4, 2, { causal: true })), 2), dense(4, 10));
 * compileIncremental(gpt); // Right({ step, maxPositions: 64, applications: 2 })
 * compileIncremental(seq(embedding(10, 4), conv1d(4, 4, 3, { padding: 'same' }), dense(4, 10)));
 * // Left({ path: 'conv1d_0', message: 'cannot be decoded with a key/value cache: a convolution reads … ' })
 * ```
 */
export const compileIncremental = (model: Node, opts: DecodeOptions = {}): E.Either<ModelError, IncrementalModel> => {
  const output = validate(model, opts);
  if (E.isLeft(output)) return output;
  const bad = refusal(model);
  // the path in the language of parameter paths (`h.0.attn`), as every other model error
  if (bad) return E.left(locateError(model, bad));
  const env: Env = { tables: tablesOf(model), cached: true, output: output.right };
  const f = build(model, rootScope(), env, opts.allPositions !== true).fn;
  const maxPositions = modelPositions(model);
  return E.right({
    maxPositions,
    applications: applicationsOf(model, output.right).length,
    step: (params, cache, ids) => {
      checkIds(ids);
      const n = ids.shape[1] as number;
      if (maxPositions !== undefined && cache.length + n > maxPositions)
        throw new ModelInputError(modelError('', `${cache.length} cached + ${n} new positions exceed the model's ${maxPositions} positions`));
      const out = tf.tidy(() => {
        const rt: Runtime = { params, side: {}, training: false, seed: 0, dropoutCalls: 0, masks: new Map(), step: 0 };
        const st: StepState = { offset: cache.length, past: cache.layers, next: [] };
        const logits = asTensor(f(ids, rt, st));
        return [logits, ...st.next.flatMap((e) => [e.key, e.value])];
      });
      const [logits, ...kv] = out as [tf.Tensor, ...tf.Tensor[]];
      const layers: KvEntry[] = [];
      for (let i = 0; i < kv.length; i += 2) layers.push({ key: kv[i] as tf.Tensor, value: kv[i + 1] as tf.Tensor });
      return { logits, cache: { length: cache.length + n, layers } };
    },
  });
};

/**
 * A cache of fixed capacity for {@link compileGraphDecoder}: every attention application's keys
 * and values preallocated at `capacity` positions (`[batch, heads, capacity, headSize]`), of which
 * the first `length` are filled. The same shapes at every step, so one traced function serves them all.
 * @example dec.emptyCache(1, 128) // { length: 0, capacity: 128, layers: [12 × { key, value } of zeros] }
 */
export interface FixedKvCache extends KvCache {
  /** Positions preallocated (the most `length` can reach). */
  readonly capacity: number;
}

/**
 * An incremental decoder whose step runs as one TensorFlow graph function (see
 * {@link compileGraphDecoder}).
 * @example const { logits, cache } = dec.step(params, dec.emptyCache(1, 64), ids);
 */
export interface GraphDecoder {
  /**
   * Runs the new tokens `ids` (`[batch, n]` int32) after the cached ones, writing their keys and
   * values in place of the cache's next `n` positions. Does not dispose `cache`. Throws a
   * {@link ModelInputError} when `cache.length + n` exceeds the cache's capacity, or `ids` is not
   * `[batch, n]` int32 with the cache's batch.
   */
  readonly step: (params: Params, cache: FixedKvCache, ids: tf.Tensor) => { readonly logits: tf.Tensor; readonly cache: FixedKvCache };
  /**
   * A cache of zeros for `batch` rows and `capacity` positions (1 ≤ capacity ≤ {@link GraphDecoder.maxPositions});
   * the caller disposes it ({@link disposeCache}). Throws a {@link ModelInputError} for a capacity out of range.
   */
  readonly emptyCache: (batch: number, capacity: number) => FixedKvCache;
  /** The positions the model has (as {@link IncrementalModel.maxPositions}). */
  readonly maxPositions: number | undefined;
  /** Attention applications per forward pass: the number of entries of every cache. */
  readonly applications: number;
  /** `graph`, or `eager` after a fallback (the same step, op by op; said once through `onNotice`). */
  readonly engine: () => GraphEngine;
  /** Step functions traced so far: one per new-token count and cache shape (the decode step, one per prompt length). */
  readonly tracedFunctions: () => number;
}

/**
 * Options of {@link compileGraphDecoder}: those of {@link compileIncremental} and of the graph runner, and how a prompt runs.
 * @example { prefill: 'eager', onNotice: (line) => process.stderr.write(`${line}\n`) }
 */
export interface GraphDecoderOptions extends DecodeOptions, GraphOptions {
  /**
   * A step of more than one new token (a prompt): `graph` (default) traces one function per
   * length; `eager` runs the same step op by op, no trace (cheaper when each prompt length comes
   * once, as in one `lamina generate`: a trace costs about two eager runs). One-token steps are traced either way.
   */
  readonly prefill?: 'graph' | 'eager';
}

/**
 * Compiles a causal model for incremental decoding on a fixed-capacity key/value cache, each step
 * one TensorFlow graph function ({@link graphRunner}): the parameters, the cache, the new ids and
 * their position are its arguments, so a decode step (one new token) is traced once and every
 * later step reuses it; a prompt of a new length traces once more. The cache is written with
 * one-hot masks and the attention masked beyond each query's position, so the logits are the
 * full window's (within float rounding of the longer softmax) and greedy ids are those of
 * {@link compileIncremental}. Refuses what `compileIncremental` refuses. When the graph path
 * cannot serve (not the native backend, a trace that fails), the same step runs eager after one
 * line through `onNotice` (default stderr); `engine: 'eager'` runs it eager with no notice.
 * @example
 * ```ts
 * const gpt = seq(embedding(10, 4), positionalEmbedding(64, 4), repeat(residual(multiHeadAttention(4, 2, { causal: true })), 2), dense(4, 10));
 * const params = unwrap(init(gpt, 0));
 * const dec = unwrap(compileGraphDecoder(gpt));
 * const empty = dec.emptyCache(1, 16);
 * const a = dec.step(params, empty, tf.tensor2d([[3, 4, 5]], undefined, 'int32')); // prompt: traced once for 3 tokens
 * const b = dec.step(params, a.cache, tf.tensor2d([[7]], undefined, 'int32'));     // one token: traced once, then reused
 * disposeCache(empty);
 * disposeCache(a.cache);
 * dec.tracedFunctions(); // 2
 * ```
 */
export const compileGraphDecoder = (model: Node, opts: GraphDecoderOptions = {}): E.Either<ModelError, GraphDecoder> => {
  const output = validate(model, opts);
  if (E.isLeft(output)) return output;
  const bad = refusal(model);
  if (bad) return E.left(locateError(model, bad));
  const env: Env = { tables: tablesOf(model), cached: true, output: output.right };
  const f = build(model, rootScope(), env, opts.allPositions !== true).fn;
  const maxPositions = modelPositions(model);
  const apps = applicationsOf(model, output.right);
  // the sinusoid tables the step reads, by base and width (widths from the shape interpreter)
  const signals = new Map<string, { readonly base: number; readonly dim: number }>();
  inferShape(model, tensorSig([1, 1], 'int32'), {}, {
    trace: (n, x) => {
      const d = x.shape[x.shape.length - 1];
      if (n.kind === 'sinusoidalPositions' && typeof d === 'number') signals.set(signalKey(n.base, d), { base: n.base, dim: d });
    },
  });
  const signalKeys = [...signals.keys()].sort();
  const hostTables = new Map<string, Float32Array>();
  const runner = graphRunner('lamina_decode', opts);
  const A = apps.length;
  const emptyFixed = (batch: number, capacity: number): FixedKvCache => {
    if (!Number.isSafeInteger(batch) || batch < 1) throw new ModelInputError(modelError('', `a cache needs a batch of at least 1 row, got ${batch}`));
    if (!Number.isSafeInteger(capacity) || capacity < 1 || (maxPositions !== undefined && capacity > maxPositions))
      throw new ModelInputError(modelError('', `a cache capacity must be an integer in 1 … ${maxPositions ?? '∞'} (the model's positions), got ${capacity}`));
    return { length: 0, capacity, layers: apps.map((a) => ({ key: tf.zeros([batch, a.heads, capacity, a.headSize]), value: tf.zeros([batch, a.heads, capacity, a.headSize]) })) };
  };
  const step = (params: Params, cache: FixedKvCache, ids: tf.Tensor): { readonly logits: tf.Tensor; readonly cache: FixedKvCache } => {
    checkIds(ids);
    const [b, n] = ids.shape as [number, number];
    const C = cache.capacity;
    if (cache.layers.length !== A) throw new ModelInputError(modelError('', `the cache has ${cache.layers.length} entries; this model has ${A} attention application(s)`));
    const rows = cache.layers[0]?.key.shape[0];
    if (rows !== undefined && rows !== b) throw new ModelInputError(modelError('', `the cache holds ${rows} row(s); the new ids have ${b}`));
    if (cache.length + n > C) throw new ModelInputError(modelError('', `${cache.length} cached + ${n} new positions exceed the cache's capacity of ${C} positions`));
    const pNames = Object.keys(params).sort();
    const tables = signalKeys.map((k) => {
      const { base, dim } = signals.get(k) as { base: number; dim: number };
      const hk = `${k}:${C}`;
      let t = hostTables.get(hk);
      if (!t) {
        t = sinusoidTable(C, dim, base);
        if (hostTables.size >= 16) hostTables.clear();
        hostTables.set(hk, t);
      }
      return tf.tensor2d(t, [C, dim]);
    });
    const pos = tf.scalar(cache.length, 'int32');
    const kv = cache.layers.flatMap((l) => [l.key, l.value]);
    const pure = (flat: tf.Tensor[]): tf.Tensor[] => {
      const ps = Object.fromEntries(pNames.map((name, i) => [name, flat[i] as tf.Tensor]));
      let i = pNames.length;
      const sig = new Map(signalKeys.map((k) => [k, flat[i++] as tf.Tensor]));
      const past: KvEntry[] = [];
      for (let j = 0; j < A; j++) past.push({ key: flat[i++] as tf.Tensor, value: flat[i++] as tf.Tensor });
      const x = flat[i++] as tf.Tensor;
      const p0 = flat[i] as tf.Tensor;
      const at = tf.add(p0, tf.range(0, n, 1, 'int32'));
      const write = tf.oneHot(at, C, 1, 0, 'float32');
      const written = tf.reshape(tf.sum(write, 0), [1, 1, C, 1]);
      const fixed: FixedState = {
        capacity: C,
        at,
        write,
        writeColumn: written,
        keep: tf.sub(1, written),
        // query j (at position at[j]) sees keys 0 … at[j]
        bias: tf.reshape(tf.mul(tf.sub(1, tf.cast(tf.lessEqual(tf.reshape(tf.range(0, C, 1, 'int32'), [1, C]), tf.reshape(at, [n, 1])), 'float32')), -1e30), [1, 1, n, C]),
        signals: sig,
      };
      const rt: Runtime = { params: ps, side: {}, training: false, seed: 0, dropoutCalls: 0, masks: new Map(), step: 0 };
      const st: StepState = { offset: 0, past, next: [], fixed };
      const logits = asTensor(f(x, rt, st));
      return [logits, ...st.next.flatMap((e) => [e.key, e.value])];
    };
    let out: tf.Tensor[];
    try {
      const args = [...pNames.map((k) => params[k] as tf.Tensor), ...tables, ...kv, ids, pos];
      out = n > 1 && opts.prefill === 'eager' ? tf.tidy(() => pure(args)) : runner.run(JSON.stringify([pNames, signalKeys, C]), pure, args);
    } finally {
      tf.dispose([...tables, pos]);
    }
    const [logits, ...next] = out as [tf.Tensor, ...tf.Tensor[]];
    const layers: KvEntry[] = [];
    for (let i = 0; i < next.length; i += 2) layers.push({ key: next[i] as tf.Tensor, value: next[i + 1] as tf.Tensor });
    return { logits, cache: { length: cache.length + n, capacity: C, layers } };
  };
  return E.right({ step, emptyCache: emptyFixed, maxPositions, applications: A, engine: runner.engine, tracedFunctions: runner.tracedFunctions });
};

/** A model compiled by {@link compileLastPosition}: `(params, inputs) → logits [batch, 1, vocab]` (every position with `allPositions`). */
export type LastPositionModel = (params: Params, inputs: Readonly<Record<string, tf.Tensor>>) => tf.Tensor;

/**
 * Compiles any model `compile` accepts to run its whole window and return the logits at the last
 * position only: the stream is cut after the last layer that mixes positions, so the layers after
 * it (the LM head) run once. The naive generation loop uses it for models
 * {@link compileIncremental} refuses. A model that pools the sequence away is run whole.
 * @example
 * ```ts
 * const f = unwrap(compileLastPosition(model, { input: 'input_ids' }));
 * f(params, { input_ids: ids, attention_mask: mask }); // [batch, 1, vocab]
 * ```
 */
export const compileLastPosition = (model: Node, opts: DecodeOptions = {}): E.Either<ModelError, LastPositionModel> => {
  const output = validate(model, opts);
  if (E.isLeft(output)) return output;
  const env: Env = { tables: tablesOf(model), cached: false, output: output.right };
  const f = build(model, rootScope(), env, opts.allPositions !== true && !reduces(model)).fn;
  const inputName = opts.input ?? 'input';
  const allowed = new Set([inputName, ...sideInputs(model).keys()]);
  const fits = new Set<string>();
  return E.right((params, inputs) => {
    const x = inputs[inputName];
    if (!x) throw new ModelInputError(modelError('', `missing main input "${inputName}" (got ${Object.keys(inputs).join(', ') || 'nothing'})`));
    // names and shapes checked as compile's function checks them, once per new shape, before any op runs
    let key = '';
    for (const k in inputs) {
      if (!allowed.has(k)) throw new ModelInputError(modelError('', `unknown input "${k}": this model reads ${[...allowed].join(', ')}`));
      const t = inputs[k] as tf.Tensor;
      key += `${k}:${t.dtype}:${t.shape.join(',')};`;
    }
    if (!fits.has(key)) {
      const side: Record<string, TensorSig> = {};
      for (const k in inputs) if (k !== inputName) side[k] = sigOf(inputs[k] as tf.Tensor);
      const r = inferShape(model, sigOf(x), side);
      if (E.isLeft(r)) throw new ModelInputError(r.left);
      if (fits.size >= 256) fits.clear();
      fits.add(key);
    }
    return tf.tidy(() => {
      const rt: Runtime = { params, side: inputs, training: false, seed: 0, dropoutCalls: 0, masks: new Map(), step: 0 };
      return asTensor(f(x, rt, { offset: 0, past: [], next: [] }));
    });
  });
};
