/**
 * FLOPs of one forward pass for an input signature, read off the model value (2 FLOPs per
 * multiply-add; element-wise work counted per element as noted per primitive). Each primitive
 * states its own count (`flops` in its module); this sums them over one shape-inference pass,
 * plus one FLOP per element per add of a branch. Needs concrete dims (no `null`).
 *
 * @example
 * ```ts
 * flops(dense(768, 3072), tensorSig([1024, 768])) // right(2·1024·768·3072 + 1024·3072)
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Node } from './layer.js';
import { primitiveOf } from './primitives/index.js';
import { elems, inferShape, modelError, type ModelError, type TensorSig } from './shape.js';
import { locateError } from './tree.js';

/**
 * FLOPs of one forward pass of `model` on `input` (+ side inputs). Backward ≈ 2× forward for
 * matmul-dominated models; a training step ≈ 3× forward.
 * @example flops(seq(dense(4, 8), dense(8, 2)), tensorSig([3, 4])) // right(2·3·4·8 + 3·8 + 2·3·8·2 + 3·2)
 */
export const flops = (model: Node, input: TensorSig, side: Readonly<Record<string, TensorSig>> = {}): E.Either<ModelError, number> => {
  let total = 0;
  let vague: string | undefined;
  const concrete = (s: TensorSig) => Number.isFinite(elems(s));
  const r = inferShape(model, input, side, {
    trace: (n, x, y, where) => {
      if (!concrete(x) || !concrete(y)) vague ??= where;
      else total += primitiveOf(n)?.flops(n as never, x, y) ?? 0;
    },
    traceMerge: (adds, y, where) => {
      if (!concrete(y)) vague ??= where;
      else total += adds * elems(y);
    },
  });
  if (E.isLeft(r)) return r;
  if (vague !== undefined) return E.left(locateError(model, modelError(vague, 'FLOPs need concrete dims (no * in the input signature)')));
  return E.right(total);
};
