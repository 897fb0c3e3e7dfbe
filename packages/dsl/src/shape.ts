/**
 * Shape inference: `inferShape(model, input, side)` → the output signature, or an error naming
 * the path of the offending node. No tensor is created.
 *
 * @example
 * ```ts
 * const r = inferShape(seq(dense(4, 8), dense(7, 2)), tensorSig([null, 4]));
 * // left: "seq[1].dense: expected last dim 7, got 8"
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { ACTIVATIONS, innerEmbedding, type Node } from './layer.js';
import { childWhere, collectShared, primitiveWhere } from './paths.js';

/** Element type of a tensor. */
export type DType = 'float32' | 'int32';

/** Shape and dtype of one tensor; `null` dims are known only at run time (batch, sequence). */
export interface TensorSig {
  readonly shape: readonly (number | null)[];
  readonly dtype: DType;
}

/** What flows between layers: one tensor, or (after a fanout) named tensors. */
export type Signature = TensorSig | { readonly outputs: Readonly<Record<string, TensorSig>> };

/** A model that is malformed or does not fit its input, located by path. */
export interface ModelError {
  readonly _tag: 'ModelError';
  /** Where: e.g. `seq[1].repeat.shared(encoder).attention`. */
  readonly path: string;
  readonly message: string;
}

/** Makes a {@link ModelError}. */
export const modelError = (path: string, message: string): ModelError => ({ _tag: 'ModelError', path, message });

/** `path: message`, the one-line form of a {@link ModelError}. */
export const formatModelError = (e: ModelError): string => (e.path ? `${e.path}: ${e.message}` : e.message);

/**
 * A tensor signature.
 * @example tensorSig([null, 128], 'int32') // ids of any batch, 128 tokens
 */
export const tensorSig = (shape: readonly (number | null)[], dtype: DType = 'float32'): TensorSig => ({ shape, dtype });

const isTensor = (s: Signature): s is TensorSig => 'shape' in s;
const showShape = (s: readonly (number | null)[]): string => `[${s.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
const dimsMatch = (a: number | null, b: number | null): boolean => a === null || b === null || a === b;
const lastDim = (s: TensorSig): number | null => s.shape[s.shape.length - 1] ?? null;

const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;
const rate = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v < 1;

/** Checks a node's own fields (sizes, rates, names); the first problem found, if any. */
export const checkNodeFields = (n: Node): string | undefined => {
  const need = (ok: boolean, msg: string) => (ok ? undefined : msg);
  const positive = (field: string, v: unknown) => need(posInt(v), `${field} must be a positive integer, got ${JSON.stringify(v)}`);
  const std = (v: unknown) => need(typeof v === 'number' && v >= 0 && Number.isFinite(v), `initStd must be a finite number >= 0, got ${JSON.stringify(v)}`);
  switch (n.kind) {
    case 'dense':
      return (
        positive('inDim', n.inDim) ??
        positive('outDim', n.outDim) ??
        need((ACTIVATIONS as readonly string[]).includes(n.activation), `unknown activation "${n.activation}" (known: ${ACTIVATIONS.join(', ')})`) ??
        std(n.initStd)
      );
    case 'embedding':
      return positive('vocab', n.vocab) ?? positive('dim', n.dim) ?? std(n.initStd);
    case 'positionalEmbedding':
      return positive('maxLen', n.maxLen) ?? positive('dim', n.dim) ?? std(n.initStd);
    case 'tokenTypeEmbedding':
      return positive('types', n.types) ?? positive('dim', n.dim) ?? need(n.input !== '', 'input name must not be empty') ?? std(n.initStd);
    case 'layerNorm':
      return positive('dim', n.dim) ?? need(typeof n.epsilon === 'number' && n.epsilon > 0, `epsilon must be > 0, got ${n.epsilon}`);
    case 'dropout':
      return need(rate(n.rate), `rate must be in [0, 1), got ${JSON.stringify(n.rate)}`);
    case 'activation':
      return need((ACTIVATIONS as readonly string[]).includes(n.fn), `unknown activation "${n.fn}" (known: ${ACTIVATIONS.join(', ')})`);
    case 'attention':
      return (
        positive('dim', n.dim) ??
        positive('heads', n.heads) ??
        positive('headSize', n.headSize) ??
        need(rate(n.dropout), `dropout must be in [0, 1), got ${n.dropout}`) ??
        std(n.initStd)
      );
    case 'unembed':
      return positive('vocab', n.vocab) ?? positive('dim', n.dim);
    case 'repeat':
      return positive('times', n.times);
    case 'seq':
      return need(n.layers.length > 0, 'seq needs at least one layer');
    case 'branch':
      return need(n.branches.length > 0, 'branch needs at least one branch') ?? need(n.merge === 'add' || n.merge === 'concat', `merge must be "add" or "concat", got "${n.merge}"`);
    case 'shared':
    case 'named':
      return need(typeof n.name === 'string' && n.name !== '', 'name must be a non-empty string');
    case 'fanout':
      return need(Object.keys(n.outputs).length > 0, 'fanout needs at least one output');
    case 'gather':
      return need(n.input !== '', 'input name must not be empty');
    case 'firstToken':
    case 'identity':
      return undefined;
  }
};

interface Env {
  readonly side: Readonly<Record<string, TensorSig>>;
  readonly shared: Map<string, Node>;
}

type R = E.Either<ModelError, Signature>;

const tensorIn = (where: string, s: Signature): E.Either<ModelError, TensorSig> =>
  isTensor(s) ? E.right(s) : E.left(modelError(where, `expected a tensor, got named outputs {${Object.keys(s.outputs).join(', ')}} (fanout must come last)`));

const expectLast = (where: string, x: TensorSig, dim: number, what = 'last dim'): E.Either<ModelError, TensorSig> =>
  x.dtype !== 'float32'
    ? E.left(modelError(where, `expected float32 features ${showShape(x.shape)}, got int32 ids (add an embedding first)`))
    : x.shape.length === 0
      ? E.left(modelError(where, 'expected a tensor of rank >= 1, got a scalar'))
      : dimsMatch(lastDim(x), dim)
        ? E.right(x)
        : E.left(modelError(where, `expected ${what} ${dim}, got ${lastDim(x)} (input ${showShape(x.shape)})`));

const withLast = (x: TensorSig, d: number | null): TensorSig => tensorSig([...x.shape.slice(0, -1), d], 'float32');

const expectRank3 = (where: string, x: TensorSig, dim: number): E.Either<ModelError, TensorSig> =>
  E.chain((t: TensorSig) =>
    t.shape.length === 3 ? E.right(t) : E.left(modelError(where, `expected [batch, seq, ${dim}], got ${showShape(t.shape)}`)),
  )(expectLast(where, x, dim));

const sideInput = (
  where: string,
  env: Env,
  name: string,
  x: TensorSig,
  required: boolean,
  rank: number | readonly number[] = 2,
): E.Either<ModelError, TensorSig | undefined> => {
  const s = env.side[name];
  if (!s) return required ? E.left(modelError(where, `needs the side input "${name}", which is not given`)) : E.right(undefined);
  const ranks = typeof rank === 'number' ? [rank] : rank;
  if (!ranks.includes(s.shape.length)) return E.left(modelError(where, `side input "${name}" must have rank ${ranks.join(' or ')}, got ${showShape(s.shape)}`));
  if (!dimsMatch(s.shape[0] ?? null, x.shape[0] ?? null))
    return E.left(modelError(where, `side input "${name}" has batch ${s.shape[0]}, the stream has ${x.shape[0]}`));
  return E.right(s);
};

const infer = (n: Node, input: Signature, where: string, env: Env): R => {
  const here = primitiveWhere(where, n);
  const bad = checkNodeFields(n);
  if (bad) return E.left(modelError(here, bad));
  const tensor = (f: (x: TensorSig) => R): R => E.chain(f)(tensorIn(here, input));
  switch (n.kind) {
    case 'dense':
      return tensor((x) => E.map((t: TensorSig) => withLast(t, n.outDim))(expectLast(here, x, n.inDim)));
    case 'embedding':
      return tensor((x) =>
        x.dtype === 'int32' ? E.right(tensorSig([...x.shape, n.dim])) : E.left(modelError(here, `expected int32 ids, got float32 ${showShape(x.shape)}`)),
      );
    case 'positionalEmbedding':
      return tensor((x) =>
        E.chain((t: TensorSig) => {
          const len = t.shape[t.shape.length - 2];
          return len !== null && len !== undefined && len > n.maxLen
            ? E.left(modelError(here, `sequence length ${len} exceeds maxLen ${n.maxLen}`))
            : E.right(t);
        })(x.shape.length >= 2 ? expectLast(here, x, n.dim) : E.left(modelError(here, `expected [..., seq, ${n.dim}], got ${showShape(x.shape)}`))),
      );
    case 'tokenTypeEmbedding':
      return tensor((x) =>
        E.chain((t: TensorSig) =>
          E.chain((s: TensorSig | undefined): R =>
            s && s.dtype !== 'int32'
              ? E.left(modelError(here, `side input "${n.input}" must be int32 type ids, got ${s.dtype}`))
              : s && !dimsMatch(s.shape[1] ?? null, t.shape[1] ?? null)
                ? E.left(modelError(here, `side input "${n.input}" ${showShape(s.shape)} does not fit the sequence length of the stream ${showShape(t.shape)}`))
                : E.right(t),
          )(sideInput(here, env, n.input, t, false)),
        )(expectRank3(here, x, n.dim)));
    case 'layerNorm':
      return tensor((x) => expectLast(here, x, n.dim));
    case 'dropout':
    case 'identity':
      return E.right(input);
    case 'activation':
      return tensor((x) => (x.dtype === 'float32' ? E.right(x) : E.left(modelError(here, 'expected float32 features, got int32 ids'))));
    case 'attention':
      return tensor((x) =>
        E.chain((t: TensorSig) =>
          E.chain((m: TensorSig | undefined): R => {
            if (!m) return E.right(t);
            const [, s] = t.shape;
            const ok = m.shape.slice(1).every((d) => dimsMatch(d ?? null, s ?? null));
            return ok
              ? E.right(t)
              : E.left(modelError(here, `side input "${n.maskInput}" ${showShape(m.shape)} does not fit the sequence length ${s ?? '*'} of the stream ${showShape(t.shape)}`));
          })(n.maskInput === null ? E.right(undefined) : sideInput(here, env, n.maskInput, t, false, [2, 3])),
        )(expectRank3(here, x, n.dim)),
      );
    case 'firstToken':
      return tensor((x) =>
        x.shape.length === 3 && x.dtype === 'float32'
          ? E.right(tensorSig([x.shape[0] ?? null, x.shape[2] ?? null]))
          : E.left(modelError(here, `expected [batch, seq, dim] features, got ${showShape(x.shape)} ${x.dtype}`)),
      );
    case 'gather':
      return tensor((x) => {
        if (x.shape.length !== 3 || x.dtype !== 'float32') return E.left(modelError(here, `expected [batch, seq, dim] features, got ${showShape(x.shape)}`));
        return E.chain((s: TensorSig | undefined) =>
          s && s.dtype === 'int32'
            ? E.right(tensorSig([x.shape[0] ?? null, s.shape[1] ?? null, x.shape[2] ?? null]) as Signature)
            : E.left(modelError(here, `side input "${n.input}" must be int32 positions`)),
        )(sideInput(here, env, n.input, x, true));
      });
    case 'unembed': {
      const target = env.shared.get(n.target);
      const emb = target ? innerEmbedding(target) : undefined;
      if (!target) return E.left(modelError(here, `ties to shared "${n.target}", which is not in the model`));
      if (!emb) return E.left(modelError(here, `ties to shared "${n.target}", which is not an embedding`));
      if (emb.vocab !== n.vocab || emb.dim !== n.dim)
        return E.left(modelError(here, `expects an embedding ${n.vocab}×${n.dim}, shared "${n.target}" is ${emb.vocab}×${emb.dim}`));
      return tensor((x) => E.map((t: TensorSig) => withLast(t, n.vocab))(expectLast(here, x, n.dim)));
    }
    case 'seq':
      return n.layers.reduce<R>((acc, l, i) => E.chain((s: Signature) => infer(l, s, childWhere(where, n, i), env))(acc), E.right(input));
    case 'branch': {
      const outs: TensorSig[] = [];
      for (const [i, b] of n.branches.entries()) {
        const r = E.chain((s: Signature) => tensorIn(childWhere(where, n, i), s))(infer(b, input, childWhere(where, n, i), env));
        if (E.isLeft(r)) return r;
        outs.push(r.right);
      }
      const first = outs[0] as TensorSig;
      for (const [i, o] of outs.entries()) {
        const lead = n.merge === 'add' ? o.shape : o.shape.slice(0, -1);
        const ref = n.merge === 'add' ? first.shape : first.shape.slice(0, -1);
        if (lead.length !== ref.length || lead.some((d, j) => !dimsMatch(d, ref[j] ?? null)))
          return E.left(
            modelError(
              childWhere(where, n, i),
              `cannot ${n.merge} ${showShape(o.shape)} with ${showShape(first.shape)} (branch 0)${n.merge === 'add' ? '' : ' along the last axis'}`,
            ),
          );
      }
      if (n.merge === 'add') return E.right(first);
      const dims = outs.map(lastDim);
      return E.right(withLast(first, dims.some((d) => d === null) ? null : dims.reduce<number>((a, d) => a + (d ?? 0), 0)));
    }
    case 'repeat': {
      let acc: R = E.right(input);
      for (let i = 0; i < n.times && E.isRight(acc); i++) acc = infer(n.layer, acc.right, childWhere(where, n, i), env);
      return acc;
    }
    case 'shared':
    case 'named':
      return infer(n.layer, input, childWhere(where, n, 0), env);
    case 'fanout': {
      const outputs: Record<string, TensorSig> = {};
      for (const [k, l] of Object.entries(n.outputs)) {
        const r = E.chain((s: Signature) => tensorIn(childWhere(where, n, k), s))(infer(l, input, childWhere(where, n, k), env));
        if (E.isLeft(r)) return r;
        outputs[k] = r.right;
      }
      return E.right({ outputs });
    }
  }
};

/** A side input some primitive of a model reads, by name. */
export interface SideInputSpec {
  readonly name: string;
  readonly dtype: DType | 'any';
  readonly ranks: readonly number[];
  readonly required: boolean;
  readonly what: string;
}

/** The side inputs one primitive reads (none for combinators). */
export const ownSideInputs = (n: Node): readonly SideInputSpec[] => {
  switch (n.kind) {
    case 'tokenTypeEmbedding':
      return [{ name: n.input, dtype: 'int32', ranks: [2], required: false, what: 'token type ids [batch, seq]' }];
    case 'attention':
      return n.maskInput === null ? [] : [{ name: n.maskInput, dtype: 'any', ranks: [2, 3], required: false, what: '0/1 attention mask [batch, seq] or [batch, seq, seq]' }];
    case 'gather':
      return [{ name: n.input, dtype: 'int32', ranks: [2], required: true, what: 'positions [batch, k]' }];
    default:
      return [];
  }
};

const kids = (n: Node): readonly Node[] =>
  n.kind === 'seq' ? n.layers : n.kind === 'branch' ? n.branches : n.kind === 'fanout' ? Object.values(n.outputs) : 'layer' in n ? [n.layer] : [];

/** Every side input the model reads, by name. */
export const sideInputs = (model: Node): ReadonlyMap<string, SideInputSpec> => {
  const out = new Map<string, SideInputSpec>();
  const go = (n: Node): void => {
    for (const s of ownSideInputs(n)) {
      const prev = out.get(s.name);
      out.set(s.name, prev ? { ...prev, required: prev.required || s.required, ranks: prev.ranks.filter((r) => s.ranks.includes(r)) } : s);
    }
    kids(n).forEach(go);
  };
  go(model);
  return out;
};

const firstPrimitive = (n: Node): Node | undefined => {
  if (n.kind === 'identity' || n.kind === 'dropout' || n.kind === 'activation') return undefined;
  const ks = kids(n);
  if (ks.length === 0) return n;
  for (const k of ks) {
    const p = firstPrimitive(k);
    if (p) return p;
  }
  return undefined;
};

const inDimOf = (n: Node): number | null =>
  n.kind === 'dense' ? n.inDim : n.kind === 'positionalEmbedding' || n.kind === 'tokenTypeEmbedding' || n.kind === 'layerNorm' || n.kind === 'attention' || n.kind === 'unembed' ? n.dim : null;

/** The main-input signatures a model may be meant for, most likely first (used by compile). */
export const candidateInputs = (model: Node): readonly TensorSig[] => {
  const p = firstPrimitive(model);
  if (p?.kind === 'embedding') return [tensorSig([null, null], 'int32')];
  const d = p ? inDimOf(p) : null;
  return [tensorSig([null, null, d]), tensorSig([null, d]), tensorSig([null, null], 'int32')];
};

/**
 * Infers the output signature of `model` for the main input `input` and the named side inputs
 * `side` (e.g. `attention_mask`, `token_type_ids`). Errors name the path of the offending node.
 * `within`: the whole model, when `model` is a part of it (so tied decoders find their embedding).
 * @example
 * ```ts
 * inferShape(seq(embedding(100, 16), dense(16, 4)), tensorSig([2, 7], 'int32'))
 * // right({ shape: [2, 7, 4], dtype: 'float32' })
 * ```
 */
export const inferShape = (
  model: Node,
  input: TensorSig,
  side: Readonly<Record<string, TensorSig>> = {},
  within?: Node,
): E.Either<ModelError, Signature> => infer(model, input, '', { side, shared: collectShared(within ?? model) });

/** {@link inferShape} for models whose output is one tensor. */
export const inferTensorShape = (model: Node, input: TensorSig, side: Readonly<Record<string, TensorSig>> = {}): E.Either<ModelError, TensorSig> =>
  E.chain((s: Signature) => tensorIn('(output)', s))(inferShape(model, input, side));
