/**
 * Shape inference: `inferShape(model, input, side)` → the output signature, or an error naming
 * the path of the offending node. No tensor is created. Primitives answer through their
 * module's `shape` rule; the combinators are interpreted here.
 *
 * @example
 * ```ts
 * const r = inferShape({ kind: 'seq', layers: [dense(4, 8), dense(7, 2)] }, tensorSig([null, 4]));
 * // left: "dense_1: expected last dim 7, got 8 (input [*, 8])"
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { innerEmbedding, type Node } from './layer.js';
import { isPrimitive, primitiveOf } from './primitives/index.js';
import { dimsMatch, lastDim, modelError, showShape, tensorSig, withLast, type ModelError, type Signature, type SideInputSpec, type TensorSig } from './sig.js';
import { checkNodeFields, childWhere, children, collectShared, locateError, primitiveWhere, repeatShares } from './tree.js';
import { joinPath } from './paths.js';

export * from './sig.js';

/** Called for every primitive application during inference (FLOPs and summaries read it). */
export type Trace = (n: Node, x: TensorSig, y: TensorSig, where: string) => void;

interface Env {
  readonly side: Readonly<Record<string, TensorSig>>;
  readonly shared: Map<string, Node>;
  readonly trace: Trace | undefined;
  readonly traceMerge: ((adds: number, y: TensorSig, where: string) => void) | undefined;
}

type R = E.Either<ModelError, Signature>;

const isTensor = (s: Signature): s is TensorSig => 'shape' in s;

const tensorIn = (where: string, s: Signature): E.Either<ModelError, TensorSig> =>
  isTensor(s) ? E.right(s) : E.left(modelError(where, `expected a tensor, got named outputs {${Object.keys(s.outputs).join(', ')}} (fanout must come last)`));

const infer = (n: Node, input: Signature, where: string, env: Env): R => {
  const bad = checkNodeFields(n);
  if (bad) return E.left(modelError(primitiveWhere(where, n), bad));
  if (isPrimitive(n)) {
    const p = primitiveOf(n) as NonNullable<ReturnType<typeof primitiveOf>>;
    const here = primitiveWhere(where, n);
    return E.chain((x: TensorSig): R => {
      const tie = p.tie?.(n as never);
      if (tie) {
        const target = env.shared.get(tie.target);
        const emb = target ? innerEmbedding(target) : undefined;
        if (!target) return E.left(modelError(here, `ties to shared "${tie.target}", which is not in the model`));
        if (!emb) return E.left(modelError(here, `ties to shared "${tie.target}", which is not an embedding`));
        if (emb.vocab !== tie.vocab || emb.dim !== tie.dim)
          return E.left(modelError(here, `expects an embedding ${tie.vocab}×${tie.dim}, shared "${tie.target}" is ${emb.vocab}×${emb.dim}`));
      }
      const y = p.shape(n as never, x, env);
      if (E.isLeft(y)) return E.left(modelError(here, y.left));
      env.trace?.(n, x, y.right, here);
      return y;
    })(tensorIn(here, input));
  }
  switch (n.kind) {
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
        if (lead.length !== ref.length || lead.some((d, j) => !dimsMatch(d, ref[j])))
          return E.left(
            modelError(
              childWhere(where, n, i),
              `cannot ${n.merge} ${showShape(o.shape)} with ${showShape(first.shape)} (branch 0)${n.merge === 'add' ? '' : ' along the last axis'}`,
            ),
          );
      }
      if (n.merge === 'add') {
        env.traceMerge?.(n.branches.length - 1, first, where);
        return E.right(first);
      }
      const dims = outs.map(lastDim);
      return E.right(withLast(first, dims.some((d) => d === null) ? null : dims.reduce<number>((a, d) => a + (d ?? 0), 0)));
    }
    case 'repeat': {
      let acc: R = E.right(input);
      const copies = !repeatShares(n);
      for (let i = 0; i < n.times && E.isRight(acc); i++) {
        const w = copies ? joinPath(childWhere(where, n, i), String(i)) : childWhere(where, n, i);
        const step = n.step;
        const stepped = step === undefined ? acc : E.chain((s: Signature) => infer(step, s, childWhere(where, n, 'step'), env))(acc);
        acc = E.chain((s: Signature) => infer(n.layer, s, w, env))(stepped);
      }
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

/** Options of {@link inferShape}. */
export interface InferOptions {
  /** The whole model, when `model` is a part of it (so tied decoders find their embedding). */
  readonly within?: Node;
  /** Called for every primitive application. */
  readonly trace?: Trace;
  /** Called for every branch that adds its outputs: how many adds per element, and the output. */
  readonly traceMerge?: (adds: number, y: TensorSig, where: string) => void;
}

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
  within?: Node | InferOptions,
): E.Either<ModelError, Signature> => {
  const o: InferOptions = within === undefined ? {} : 'kind' in within ? { within } : within;
  const r = infer(model, input, '', { side, shared: collectShared(o.within ?? model), trace: o.trace, traceMerge: o.traceMerge });
  // the error's path in the language of parameter paths (`h.0.c_proj`), the one `paramSpecs` prints
  return E.isLeft(r) ? E.left(locateError(model, r.left)) : r;
};

/**
 * {@link inferShape} for models whose output is one tensor.
 * @example inferTensorShape(dense(4, 2), tensorSig([3, 4])) // right([3, 2])
 */
export const inferTensorShape = (model: Node, input: TensorSig, side: Readonly<Record<string, TensorSig>> = {}): E.Either<ModelError, TensorSig> =>
  E.chain((s: Signature) => tensorIn('(output)', s))(inferShape(model, input, side));

/**
 * Every side input the model reads, by name (a name read by several primitives is merged:
 * required if any needs it, ranks intersected).
 * @example sideInputs(multiHeadAttention(8, 2)).get('attention_mask')?.required // false
 */
export const sideInputs = (model: Node): ReadonlyMap<string, SideInputSpec> => {
  const out = new Map<string, SideInputSpec>();
  const go = (n: Node): void => {
    for (const s of primitiveOf(n)?.sideInputs(n as never) ?? []) {
      const prev = out.get(s.name);
      out.set(
        s.name,
        prev
          ? { ...prev, required: prev.required || s.required, ranks: prev.ranks.filter((r) => s.ranks.includes(r)), dtype: prev.dtype === 'any' ? s.dtype : prev.dtype }
          : s,
      );
    }
    for (const [, c] of children(n)) go(c);
  };
  go(model);
  return out;
};

/** The first primitive with an input expectation a model applies to its main input, if any. */
const firstInput = (n: Node): TensorSig | undefined => {
  const p = primitiveOf(n);
  if (p) return p.input?.(n as never);
  for (const [, c] of children(n)) {
    const s = firstInput(c);
    if (s) return s;
  }
  return undefined;
};

/**
 * The main-input signatures a model may be meant for, most likely first, with unknown batch and
 * sequence dims: what its first layer expects (ids `[*, *]` for an embedding, `[*, *, d]` for a
 * sequence layer of width d), then the other ranks. Used by `compile` when no inputs are declared.
 * @example candidateInputs(seq(embedding(10, 4), dense(4, 2)))[0] // int32 [*, *]
 */
export const candidateInputs = (model: Node): readonly TensorSig[] => {
  const first = firstInput(model);
  if (first?.dtype === 'int32') return [first];
  const d = first ? lastDim(first) : null;
  return [tensorSig([null, null, d]), tensorSig([null, d]), tensorSig([null, null], 'int32')];
};
