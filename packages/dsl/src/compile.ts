/**
 * The compiler: a model value → a plain function over tfjs ops, built once. All interpretation
 * (walking the value, resolving parameter paths, choosing kernels) happens in `compile`; the
 * returned function only runs ops. Shared parameters are read from one store entry at every use,
 * so their gradient is the sum over their uses.
 *
 * @example
 * ```ts
 * const model = seq(dense(4, 8, { activation: 'relu' }), dense(8, 2));
 * const params = unwrap(init(model, 42));
 * const f = unwrap(compile(model));
 * const y = f(params, { input: tf.ones([3, 4]) }) as tf.Tensor; // [3, 2]
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { Activation, Node } from './layer.js';
import { containsParams, paramSpecs, tiedTablePath } from './params.js';
import { joinPath, namedScope, primitivePrefix, repeatScopes, rootScope, sharedScope, siblingScope, type Scope } from './paths.js';
import { candidateInputs, formatModelError, inferShape, modelError, sideInputs, tensorSig, type ModelError, type SideInputSpec, type TensorSig } from './shape.js';

/** A parameter store as the compiled function reads it: path → tensor (variables are tensors). */
export type Params = Readonly<Record<string, tf.Tensor>>;

/** What the compiled function returns: a tensor, or named tensors when the model ends in a fanout. */
export type Outputs = tf.Tensor | Readonly<Record<string, tf.Tensor>>;

/** Per-call options of a compiled model. */
export interface RunOptions {
  /** Training mode: dropout active (default false). */
  readonly training?: boolean;
  /** Seed for dropout masks (default 0); the same seed gives the same masks. */
  readonly seed?: number;
}

/** A compiled model: `(params, inputs, options) => outputs`. */
export type CompiledModel = (params: Params, inputs: Readonly<Record<string, tf.Tensor>>, opts?: RunOptions) => Outputs;

/** Options of {@link compile}. */
export interface CompileOptions {
  /** Name of the main input in the inputs record (default `input`). */
  readonly input?: string;
  /** For a model ending in a fanout: compute only these outputs (default all). */
  readonly outputs?: readonly string[];
  /**
   * The declared input signatures by name: the main input (under `input`) and any side inputs.
   * Shape inference runs against them before anything is built. Default: the main input is
   * guessed from the model's first layer (ids `[*, *]` after an embedding, else features
   * `[*, *, d]` or `[*, d]`), the side inputs are those the model reads, with unknown dims.
   */
  readonly inputs?: Readonly<Record<string, TensorSig>>;
  /**
   * Names the compiled function accepts without reading them (e.g. a batch field only another
   * selection of outputs needs). Any other name the model does not read is an error.
   */
  readonly ignoreInputs?: readonly string[];
}

/**
 * What the compiled function throws when its inputs do not fit the model: an unknown or
 * misspelled input name, a missing main input, or a shape or rank the model cannot take (found
 * by shape inference on the first call with each new input shape, before any op runs).
 */
export class ModelInputError extends Error {
  readonly _tag = 'ModelInputError';
  /** The path of the node that cannot take the input (empty when it is about the names). */
  readonly path: string;
  constructor(e: ModelError) {
    super(formatModelError(e));
    this.name = 'ModelInputError';
    this.path = e.path;
  }
}

/** Levenshtein distance (short names only: input names). */
const editDistance = (a: string, b: string): number => {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j] as number;
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length] as number;
};

/** The message for an input name the model does not read, naming the ones it does. */
const unknownInput = (name: string, main: string, expected: ReadonlyMap<string, SideInputSpec>): ModelError => {
  const known = [main, ...expected.keys()];
  const near = known.map((k) => [k, editDistance(name.toLowerCase(), k.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0];
  const hint = near && near[1] <= Math.max(2, Math.floor(near[0].length / 3)) ? ` (did you mean "${near[0]}"?)` : '';
  const sides = [...expected.values()].map((s) => `${s.name} (${s.what}${s.required ? ', required' : ''})`);
  return modelError('', `unknown input "${name}"${hint}: this model reads ${main} (main input)${sides.length ? ` and ${sides.join(', ')}` : ' and no side inputs'}`);
};

const sigOf = (t: tf.Tensor): TensorSig => tensorSig(t.shape, t.dtype === 'int32' ? 'int32' : 'float32');

interface Runtime {
  readonly params: Params;
  readonly side: Readonly<Record<string, tf.Tensor>>;
  readonly training: boolean;
  readonly seed: number;
  dropoutCalls: number;
  readonly masks: Map<string, tf.Tensor>;
}

type Value = tf.Tensor | Record<string, tf.Tensor>;
type Fn = (x: Value, rt: Runtime) => Value;

const asTensor = (v: Value): tf.Tensor => {
  if (v instanceof tf.Tensor) return v;
  throw new Error(`expected a tensor, got named outputs {${Object.keys(v).join(', ')}}`);
};

const param = (rt: Runtime, path: string): tf.Tensor => {
  const p = rt.params[path];
  if (p === undefined) throw new Error(`missing parameter "${path}"`);
  return p;
};

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_C = 0.044715;

type Unary = (x: tf.Tensor) => tf.Tensor;
const unaryWithGrad = (f: (x: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor }): Unary =>
  tf.customGrad(f as never) as unknown as Unary;

/**
 * Tanh-approximate GELU with a hand-written gradient that keeps only x and tanh(u): autodiff of
 * the formula (with `pow`) cost ~10% of an ALBERT-base step (see BENCHMARKS.md).
 */
export const geluTanhOp: Unary = unaryWithGrad((x, save) => {
  const t = tf.tanh(tf.mul(tf.mul(x, tf.add(1, tf.mul(tf.square(x), GELU_C))), SQRT_2_OVER_PI));
  save([x, t]);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(1, t)),
    gradFunc: (dy, [xs, ts]) => {
      const x0 = xs as tf.Tensor;
      const t0 = ts as tf.Tensor;
      const du = tf.mul(tf.add(1, tf.mul(tf.square(x0), 3 * GELU_C)), SQRT_2_OVER_PI);
      const d = tf.add(tf.mul(tf.add(1, t0), 0.5), tf.mul(tf.mul(tf.mul(x0, 0.5), tf.sub(1, tf.square(t0))), du));
      return tf.mul(dy, d);
    },
  };
});

/** Exact GELU `x·Φ(x)` with the gradient `Φ(x) + x·φ(x)` written out. */
export const geluOp: Unary = unaryWithGrad((x, save) => {
  const cdf = tf.mul(tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))), 0.5);
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy, [xs, cs]) => {
      const x0 = xs as tf.Tensor;
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(x0), -0.5)), INV_SQRT_2PI);
      return tf.mul(dy, tf.add(cs as tf.Tensor, tf.mul(x0, pdf)));
    },
  };
});

/** Applies an activation function. */
export const applyActivation = (fn: Activation, x: tf.Tensor): tf.Tensor => {
  switch (fn) {
    case 'identity':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softmax':
      return tf.softmax(x);
    case 'gelu':
      return geluOp(x);
    case 'gelu_new':
      return geluTanhOp(x);
  }
};

/** `x · w + b` over the last axis of a tensor of any rank ≥ 2, with an optional fused activation. */
const linear = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | undefined, act: Activation = 'identity'): tf.Tensor => {
  const inDim = x.shape[x.shape.length - 1] as number;
  const outDim = w.shape[1] as number;
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const fusable = act === 'relu' || act === 'identity';
  let y: tf.Tensor = tf.fused.matMul({
    a: x2,
    b: w as tf.Tensor2D,
    ...(b ? { bias: b } : {}),
    activation: act === 'relu' ? 'relu' : 'linear',
  });
  if (!fusable) y = applyActivation(act, y);
  return x.rank === 2 ? y : tf.reshape(y, [...lead, outDim]);
};

/** Additive score mask from a 0/1 side input: `[b, s]` → `[b, 1, 1, s]`, `[b, s, s]` → `[b, 1, s, s]`. */
const additiveMask = (rt: Runtime, name: string): tf.Tensor | undefined => {
  const cached = rt.masks.get(name);
  if (cached) return cached;
  const m = rt.side[name];
  if (!m) return undefined;
  const add = tf.mul(tf.sub(1, tf.cast(m, 'float32')), -1e9);
  const shaped = m.rank === 3 ? tf.expandDims(add, 1) : tf.reshape(add, [m.shape[0] as number, 1, 1, m.shape[1] as number]);
  rt.masks.set(name, shaped);
  return shaped;
};

/** Added to the scores of future keys: far below the padding mask's -1e9, so padding never lets the future in. */
const CAUSAL_NEG = -1e30;

/** The causal additive mask `[1, 1, s, s]` (0 on and below the diagonal, -1e30 above), once per call and length. */
const causalMask = (rt: Runtime, s: number): tf.Tensor => {
  const key = `\u0000causal:${s}`;
  const cached = rt.masks.get(key);
  if (cached) return cached;
  const lower = tf.linalg.bandPart(tf.ones([s, s]), -1, 0);
  const add = tf.reshape(tf.mul(tf.sub(1, lower), CAUSAL_NEG), [1, 1, s, s]);
  rt.masks.set(key, add);
  return add;
};

/** The mask added to one attention layer's scores: padding, causal, both (summed once per call) or none. */
const scoreMask = (rt: Runtime, maskInput: string | null, causal: boolean, s: number): tf.Tensor | undefined => {
  const pad = maskInput === null ? undefined : additiveMask(rt, maskInput);
  if (!causal) return pad;
  const c = causalMask(rt, s);
  if (!pad) return c;
  const key = `\u0000causal:${s}+${maskInput}`;
  const cached = rt.masks.get(key);
  if (cached) return cached;
  const both = tf.add(pad, c);
  rt.masks.set(key, both);
  return both;
};

const dropoutSeed = (rt: Runtime): number => {
  rt.dropoutCalls += 1;
  // A fresh, deterministic seed per dropout call in one forward pass.
  return ((rt.seed * 1000003) ^ (rt.dropoutCalls * 2654435761)) >>> 0;
};

const applyDropout = (x: tf.Tensor, rate: number, rt: Runtime): tf.Tensor =>
  rt.training && rate > 0 ? tf.dropout(x, rate, undefined, dropoutSeed(rt)) : x;

/**
 * LayerNorm over the last axis with a hand-written gradient for x, γ and β:
 * `dx = r·(g − mean(g) − x̂·mean(g·x̂))` with `g = dy·γ`, `dγ = Σ dy·x̂`, `dβ = Σ dy`.
 */
export const layerNormOp = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor =>
  (
    tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const { mean, variance } = tf.moments(xi, -1, true);
      const r = tf.rsqrt(tf.add(variance, eps));
      const xhat = tf.mul(tf.sub(xi, mean), r);
      save([xhat, r, g]);
      return {
        value: tf.add(tf.mul(xhat, g), b),
        gradFunc: (dy: tf.Tensor, [xh, rr, gg]: tf.Tensor[]) => {
          const xhat0 = xh as tf.Tensor;
          const gy = tf.mul(dy, gg as tf.Tensor);
          const m1 = tf.mean(gy, -1, true);
          const m2 = tf.mean(tf.mul(gy, xhat0), -1, true);
          const dx = tf.mul(tf.sub(tf.sub(gy, m1), tf.mul(xhat0, m2)), rr as tf.Tensor);
          const lead = Array.from({ length: dy.rank - 1 }, (_, i) => i);
          return [dx, tf.sum(tf.mul(dy, xhat0), lead), tf.sum(dy, lead)];
        },
      };
    }) as never) as unknown as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor
  )(x, gamma, beta);

interface Env {
  readonly model: Node;
  readonly tables: Map<string, string>;
}

const compileNode = (n: Node, scope: Scope, env: Env): Fn => {
  switch (n.kind) {
    case 'dense': {
      const p = primitivePrefix(scope, 'dense');
      const k = joinPath(p, 'kernel');
      const b = n.bias ? joinPath(p, 'bias') : undefined;
      const act = n.activation;
      return (x, rt) => linear(asTensor(x), param(rt, k), b ? param(rt, b) : undefined, act);
    }
    case 'embedding': {
      const t = joinPath(primitivePrefix(scope, 'embedding'), 'embeddings');
      return (x, rt) => tf.gather(param(rt, t), asTensor(x));
    }
    case 'positionalEmbedding': {
      const t = joinPath(primitivePrefix(scope, 'positionalEmbedding'), 'embeddings');
      const dim = n.dim;
      return (x, rt) => {
        const xt = asTensor(x);
        const s = xt.shape[xt.rank - 2] as number;
        return tf.add(xt, tf.slice(param(rt, t), [0, 0], [s, dim]));
      };
    }
    case 'tokenTypeEmbedding': {
      const t = joinPath(primitivePrefix(scope, 'tokenTypeEmbedding'), 'embeddings');
      const input = n.input;
      const dim = n.dim;
      return (x, rt) => {
        const ids = rt.side[input];
        const table = param(rt, t);
        return tf.add(asTensor(x), ids ? tf.gather(table, ids) : tf.slice(table, [0, 0], [1, dim]));
      };
    }
    case 'layerNorm': {
      const p = primitivePrefix(scope, 'layerNorm');
      const g = joinPath(p, 'gamma');
      const b = joinPath(p, 'beta');
      const eps = n.epsilon;
      return (x, rt) => layerNormOp(asTensor(x), param(rt, g), param(rt, b), eps);
    }
    case 'dropout': {
      const rate = n.rate;
      return (x, rt) => applyDropout(asTensor(x), rate, rt);
    }
    case 'activation': {
      const fn = n.fn;
      return (x) => applyActivation(fn, asTensor(x));
    }
    case 'identity':
      return (x) => x;
    case 'attention': {
      const p = primitivePrefix(scope, 'attention');
      const [qk, qb, kk, kb, vk, vb, ok, ob] = ['query', 'key', 'value', 'output'].flatMap((s) => [joinPath(p, s, 'kernel'), joinPath(p, s, 'bias')]) as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const { heads, headSize, dim, maskInput, dropout: attnDrop } = n;
      const causal = n.causal === true;
      const scale = 1 / Math.sqrt(headSize);
      return (x, rt) => {
        const xt = asTensor(x);
        const [b, s] = xt.shape as [number, number, number];
        const x2 = tf.reshape(xt, [b * s, dim]);
        const split = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b, s, heads, headSize]), [0, 2, 1, 3]);
        // scale q ([B·S, h·d]) rather than the scores ([B, h, S, S]): fewer elements when S > d
        const q = split(tf.mul(linear(x2, param(rt, qk), param(rt, qb)), scale));
        const k = split(linear(x2, param(rt, kk), param(rt, kb)));
        const v = split(linear(x2, param(rt, vk), param(rt, vb)));
        let scores = tf.matMul(q, k, false, true);
        const mask = scoreMask(rt, maskInput, causal, s);
        if (mask) scores = tf.add(scores, mask);
        const probs = applyDropout(tf.softmax(scores), attnDrop, rt);
        const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [b * s, heads * headSize]);
        return tf.reshape(linear(ctx, param(rt, ok), param(rt, ob)), [b, s, dim]);
      };
    }
    case 'firstToken':
      return (x) => {
        const xt = asTensor(x);
        return tf.squeeze(tf.slice(xt, [0, 0, 0], [-1, 1, -1]), [1]);
      };
    case 'gather': {
      const input = n.input;
      return (x, rt) => {
        const xt = asTensor(x);
        const [b, s, d] = xt.shape as [number, number, number];
        const pos = rt.side[input];
        if (!pos) throw new Error(`missing side input "${input}"`);
        const k = pos.shape[1] as number;
        const offsets = tf.reshape(tf.mul(tf.range(0, b, 1, 'int32'), tf.scalar(s, 'int32')), [b, 1]);
        const flat = tf.reshape(tf.add(pos, offsets), [b * k]);
        return tf.reshape(tf.gather(tf.reshape(xt, [b * s, d]), flat), [b, k, d]);
      };
    }
    case 'unembed': {
      const table = env.tables.get(n.target);
      if (table === undefined) throw new Error(`no embedding shared as "${n.target}"`);
      const b = n.bias ? joinPath(primitivePrefix(scope, 'unembed'), 'bias') : undefined;
      const vocab = n.vocab;
      return (x, rt) => {
        const xt = asTensor(x);
        const lead = xt.shape.slice(0, -1);
        const x2 = xt.rank === 2 ? (xt as tf.Tensor2D) : tf.reshape(xt, [-1, xt.shape[xt.rank - 1] as number]) as tf.Tensor2D;
        const y = tf.fused.matMul({ a: x2, b: param(rt, table) as tf.Tensor2D, transposeB: true, ...(b ? { bias: param(rt, b) } : {}) });
        return xt.rank === 2 ? y : tf.reshape(y, [...lead, vocab]);
      };
    }
    case 'seq': {
      const s = siblingScope(scope);
      const fs = n.layers.map((l) => compileNode(l, s, env));
      return (x, rt) => fs.reduce((acc, f) => f(acc, rt), x);
    }
    case 'branch': {
      const s = siblingScope(scope);
      const fs = n.branches.map((l) => compileNode(l, s, env));
      const merge = n.merge;
      return (x, rt) => {
        const outs = fs.map((f) => asTensor(f(x, rt)));
        if (merge === 'concat') return tf.concat(outs, -1);
        return outs.length === 1 ? (outs[0] as tf.Tensor) : outs.length === 2 ? tf.add(outs[0] as tf.Tensor, outs[1] as tf.Tensor) : tf.addN(outs);
      };
    }
    case 'repeat': {
      const times = n.times;
      if (n.layer.kind === 'shared' || !containsParams(n.layer)) {
        const f = compileNode(n.layer, scope, env);
        return (x, rt) => {
          let y = x;
          for (let i = 0; i < times; i++) y = f(y, rt);
          return y;
        };
      }
      const fs = repeatScopes(scope, times).map((s) => compileNode(n.layer, s, env));
      return (x, rt) => fs.reduce((acc, f) => f(acc, rt), x);
    }
    case 'shared':
      return compileNode(n.layer, sharedScope(n.name), env);
    case 'named':
      return compileNode(n.layer, namedScope(scope, n.name), env);
    case 'fanout': {
      const s = siblingScope(scope);
      const fs = Object.entries(n.outputs).map(([k, l]) => [k, compileNode(l, s, env)] as const);
      return (x, rt) => {
        const out: Record<string, tf.Tensor> = {};
        for (const [k, f] of fs) out[k] = asTensor(f(x, rt));
        return out;
      };
    }
  }
};

/** Restricts a model ending in a fanout to some of its outputs (the others are not computed). */
const selectOutputs = (n: Node, names: readonly string[]): E.Either<ModelError, Node> => {
  if (n.kind === 'fanout') {
    const missing = names.filter((k) => !Object.hasOwn(n.outputs, k));
    if (missing.length) return E.left(modelError('fanout', `unknown output(s) ${missing.join(', ')} (outputs: ${Object.keys(n.outputs).join(', ')})`));
    return E.right({ kind: 'fanout', outputs: Object.fromEntries(names.map((k) => [k, n.outputs[k] as Node])) });
  }
  if (n.kind === 'seq' && n.layers.length > 0) {
    const last = n.layers[n.layers.length - 1] as Node;
    return E.map((l: Node): Node => ({ kind: 'seq', layers: [...n.layers.slice(0, -1), l] }))(selectOutputs(last, names));
  }
  if (n.kind === 'named') return E.map((l: Node): Node => ({ kind: 'named', name: n.name, layer: l }))(selectOutputs(n.layer, names));
  return E.left(modelError('', 'outputs can only be selected from a model that ends in a fanout'));
};

/**
 * Compiles a model to a plain function `(params, inputs, { training, seed }) => outputs`.
 * `inputs[opts.input ?? 'input']` is the main stream; other entries are side inputs
 * (`attention_mask`, `token_type_ids`, …). Validates the model first, never throws: malformed
 * nodes, and shape inference against `opts.inputs` (or the likeliest inputs, see
 * {@link CompileOptions.inputs}), are a {@link ModelError} naming the path. Parameter paths are
 * resolved here, once.
 *
 * The returned function checks its inputs before any op runs and throws a
 * {@link ModelInputError} for a name the model does not read (naming the ones it does) or for
 * inputs whose shapes do not fit (shape inference, once per new input shape).
 *
 * Note: the parameters of an output not selected with `opts.outputs` are still resolved by the
 * same paths, so one store serves every selection.
 */
export const compile = (model: Node, opts: CompileOptions = {}): E.Either<ModelError, CompiledModel> => {
  const specs = paramSpecs(model);
  if (E.isLeft(specs)) return specs;
  const selected = opts.outputs ? selectOutputs(model, opts.outputs) : E.right(model);
  if (E.isLeft(selected)) return selected;
  const tables = new Map<string, string>();
  const collect = (n: Node): void => {
    if (n.kind === 'unembed' && !tables.has(n.target)) {
      const t = tiedTablePath(model, n.target);
      if (t) tables.set(n.target, t);
    }
    if (n.kind === 'seq') n.layers.forEach(collect);
    else if (n.kind === 'branch') n.branches.forEach(collect);
    else if (n.kind === 'repeat' || n.kind === 'shared' || n.kind === 'named') collect(n.layer);
    else if (n.kind === 'fanout') Object.values(n.outputs).forEach(collect);
  };
  collect(model);
  const inputName = opts.input ?? 'input';
  const expected = sideInputs(model);
  // a name the model does read is never ignored, whatever the caller listed
  const ignored = new Set((opts.ignoreInputs ?? []).filter((k) => !expected.has(k)));
  const allowed = new Set([inputName, ...expected.keys(), ...ignored]);
  const checked = checkDeclared(selected.right, model, inputName, expected, allowed, opts.inputs);
  if (E.isLeft(checked)) return checked;
  const f = compileNode(selected.right, rootScope(), { model, tables });
  const fits = new Set<string>();
  return E.right((params, inputs, run = {}) => {
    const x = inputs[inputName];
    if (!x) throw new ModelInputError(modelError('', `missing main input "${inputName}" (got ${Object.keys(inputs).join(', ') || 'nothing'})`));
    let key = '';
    for (const k in inputs) {
      if (!allowed.has(k)) throw new ModelInputError(unknownInput(k, inputName, expected));
      const t = inputs[k] as tf.Tensor;
      key += `${k}:${t.dtype}:${t.shape.join(',')};`;
    }
    if (!fits.has(key)) {
      const side: Record<string, TensorSig> = {};
      for (const k in inputs) if (k !== inputName && !ignored.has(k)) side[k] = sigOf(inputs[k] as tf.Tensor);
      const r = inferShape(selected.right, sigOf(x), side, model);
      if (E.isLeft(r)) throw new ModelInputError(r.left);
      if (fits.size >= 256) fits.clear();
      fits.add(key);
    }
    const rt: Runtime = { params, side: inputs, training: run.training ?? false, seed: run.seed ?? 0, dropoutCalls: 0, masks: new Map() };
    return f(x, rt);
  });
};

/** The default signature of a side input the model reads: unknown dims at its first allowed rank. */
const defaultSide = (s: SideInputSpec): TensorSig => tensorSig(Array.from({ length: s.ranks[0] ?? 2 }, () => null), s.dtype === 'float32' ? 'float32' : 'int32');

/**
 * Shape inference before anything is built: against the declared inputs, or (none declared) the
 * likeliest main-input signatures with every side input the model reads at unknown dims. With
 * guesses, the error reported is the one found deepest in the model (a guess of the wrong rank
 * fails at the first layer; a real mismatch further in).
 */
const checkDeclared = (
  selected: Node,
  model: Node,
  inputName: string,
  expected: ReadonlyMap<string, SideInputSpec>,
  allowed: ReadonlySet<string>,
  declared: Readonly<Record<string, TensorSig>> | undefined,
): E.Either<ModelError, void> => {
  if (declared) {
    for (const k of Object.keys(declared)) if (!allowed.has(k)) return E.left(unknownInput(k, inputName, expected));
    const x = declared[inputName];
    if (!x) return E.left(modelError('', `the declared inputs have no main input "${inputName}" (declared: ${Object.keys(declared).join(', ') || 'nothing'})`));
    const side = Object.fromEntries(Object.entries(declared).filter(([k]) => k !== inputName && expected.has(k)));
    return E.map(() => undefined)(inferShape(selected, x, side, model));
  }
  const side = Object.fromEntries([...expected.values()].map((s) => [s.name, defaultSide(s)]));
  let best: ModelError | undefined;
  for (const x of candidateInputs(selected)) {
    const r = inferShape(selected, x, side, model);
    if (E.isRight(r)) return E.right(undefined);
    if (!best || r.left.path.length > best.path.length) best = r.left;
  }
  return best ? E.left(best) : E.right(undefined);
};
