/**
 * FLOPs of one forward pass for an input signature, read off the model value (2 FLOPs per
 * multiply-add; element-wise work counted per element as noted per primitive). Used by the
 * benchmarks for utilisation figures. Needs concrete dims (no `null`).
 *
 * @example
 * ```ts
 * flops(dense(768, 3072), tensorSig([1024, 768])) // right(2·1024·768·3072 + 1024·3072)
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Node } from './layer.js';
import { childWhere, primitiveWhere } from './paths.js';
import { inferShape, modelError, type ModelError, type Signature, type TensorSig } from './shape.js';

const elems = (s: TensorSig): number => s.shape.reduce<number>((a, d) => a * (d ?? NaN), 1);
const ACT_COST = { identity: 0, relu: 1, tanh: 4, softmax: 5, gelu: 8, gelu_new: 10 } as const;

type Acc = { flops: number; out: Signature };

const walk = (n: Node, input: Signature, side: Readonly<Record<string, TensorSig>>, where: string, root: Node): E.Either<ModelError, Acc> => {
  const outR = inferShape(n, 'shape' in input ? input : { shape: [], dtype: 'float32' }, side, root);
  if (E.isLeft(outR)) return E.left(modelError(E.isLeft(outR) ? joinWhere(where, outR.left.path) : where, outR.left.message));
  const out = outR.right;
  const x = 'shape' in input ? input : undefined;
  const o = 'shape' in out ? out : undefined;
  const here = primitiveWhere(where, n);
  const need = (): E.Either<ModelError, [TensorSig, TensorSig]> =>
    x && o && Number.isFinite(elems(x)) && Number.isFinite(elems(o)) ? E.right([x, o]) : E.left(modelError(here, 'FLOPs need concrete dims (no * in the input signature)'));
  const prim = (f: (x: TensorSig, o: TensorSig) => number) => E.map(([a, b]: [TensorSig, TensorSig]) => ({ flops: f(a, b), out }))(need());
  switch (n.kind) {
    case 'dense':
      return prim((_, y) => 2 * (elems(y) / n.outDim) * n.inDim * n.outDim + (n.bias ? elems(y) : 0) + ACT_COST[n.activation] * elems(y));
    case 'embedding':
    case 'firstToken':
    case 'gather':
    case 'identity':
    case 'dropout':
      return prim(() => 0);
    case 'positionalEmbedding':
    case 'tokenTypeEmbedding':
      return prim((_, y) => elems(y));
    case 'layerNorm':
      return prim((_, y) => 8 * elems(y));
    case 'activation':
      return prim((_, y) => ACT_COST[n.fn] * elems(y));
    case 'attention':
      // causal attention computes the same full score matrix (then masks it): the same count
      return prim((a) => {
        const [b, s] = a.shape as [number, number, number];
        const inner = n.heads * n.headSize;
        const proj = 4 * (2 * b * s * n.dim * inner + b * s * inner);
        const scores = 2 * b * n.heads * s * s * n.headSize;
        return proj + 2 * scores + 7 * b * n.heads * s * s;
      });
    case 'unembed':
      return prim((_, y) => 2 * (elems(y) / n.vocab) * n.dim * n.vocab + (n.bias ? elems(y) : 0));
    case 'seq': {
      let acc: Acc = { flops: 0, out: input };
      for (const [i, l] of n.layers.entries()) {
        const r = walk(l, acc.out, side, childWhere(where, n, i), root);
        if (E.isLeft(r)) return r;
        acc = { flops: acc.flops + r.right.flops, out: r.right.out };
      }
      return E.right(acc);
    }
    case 'branch': {
      let total = 0;
      for (const [i, l] of n.branches.entries()) {
        const r = walk(l, input, side, childWhere(where, n, i), root);
        if (E.isLeft(r)) return r;
        total += r.right.flops;
      }
      return E.map(([, y]: [TensorSig, TensorSig]) => ({ flops: total + (n.merge === 'add' ? (n.branches.length - 1) * elems(y) : 0), out }))(need());
    }
    case 'repeat': {
      let acc: Acc = { flops: 0, out: input };
      for (let i = 0; i < n.times; i++) {
        const r = walk(n.layer, acc.out, side, childWhere(where, n, i), root);
        if (E.isLeft(r)) return r;
        acc = { flops: acc.flops + r.right.flops, out: r.right.out };
      }
      return E.right(acc);
    }
    case 'shared':
    case 'named':
      return walk(n.layer, input, side, childWhere(where, n, 0), root);
    case 'fanout': {
      let total = 0;
      for (const [k, l] of Object.entries(n.outputs)) {
        const r = walk(l, input, side, childWhere(where, n, k), root);
        if (E.isLeft(r)) return r;
        total += r.right.flops;
      }
      return E.right({ flops: total, out });
    }
  }
};

const joinWhere = (a: string, b: string): string => (a && b ? `${a}.${b}` : a || b);

/**
 * FLOPs of one forward pass of `model` on `input` (+ side inputs). Backward ≈ 2× forward for
 * matmul-dominated models; a training step ≈ 3× forward.
 */
export const flops = (model: Node, input: TensorSig, side: Readonly<Record<string, TensorSig>> = {}): E.Either<ModelError, number> =>
  E.map((a: Acc) => a.flops)(walk(model, input, side, '', model));
