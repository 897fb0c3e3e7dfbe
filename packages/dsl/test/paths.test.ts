// One path language: an error from shape inference, compile or the parameter walk names the
// offending node by the path its parameters have (`h.0.c_proj`, what paramSpecs, the summary and
// `lamina params` print), never by a structural location (`seq[1].repeat.seq[1]…dense`).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import {
  compile,
  countParams,
  dense,
  embedding,
  flops,
  inferShape,
  layerNorm,
  mapChildren,
  maxPool,
  multiHeadAttention,
  named,
  paramSpecs,
  repeat,
  residual,
  seq,
  shared,
  tensorSig,
  transposeSeq,
  unwrap,
  type Node,
} from '../src/index.js';
import { endoLayer, smallDim } from './arbitraries.js';

/** Pre-order positions of the parameterised leaves (dense, layerNorm) of a tree. */
const leaves = (n: Node): number => (n.kind === 'dense' || n.kind === 'layerNorm' ? 1 : 0) + childrenOf(n).reduce((a, c) => a + leaves(c), 0);
const childrenOf = (n: Node): Node[] => {
  const out: Node[] = [];
  mapChildren(n, (c) => (out.push(c), c));
  return out;
};

/** The tree with its k-th parameterised leaf made one wider than the width it is applied at. */
const breakLeaf = (n: Node, k: number, d: number): Node => {
  let i = 0;
  const go = (x: Node): Node => {
    if (x.kind === 'dense' || x.kind === 'layerNorm') {
      if (i++ !== k) return x;
      return x.kind === 'dense' ? { ...x, inDim: d + 1 } : { ...x, dim: d + 1 };
    }
    return mapChildren(x, go);
  };
  return go(n);
};

const pathOf = <A>(r: E.Either<{ path: string }, A>): string => {
  if (E.isRight(r)) throw new Error('expected a Left');
  return r.left.path;
};

describe('an error names the offending node by its parameter path', () => {
  it('random mis-dimensioned models: the Left path is the parameter prefix of the broken node (inferShape, compile, flops)', () => {
    fc.assert(
      fc.property(
        smallDim.chain((d) => endoLayer(d).map((m) => [d, m] as const)).filter(([, m]) => leaves(m) > 0),
        fc.nat(),
        ([d, model0], pick) => {
          const k = pick % leaves(model0);
          const bad = breakLeaf(model0, k, d);
          const specs = unwrap(paramSpecs(bad));
          // the broken node's parameters are the only ones with a d+1 axis
          const brokenPaths = specs.filter((s) => s.shape.includes(d + 1)).map((s) => s.path);
          const owns = (p: string): boolean => brokenPaths.some((q) => q.startsWith(`${p}.`));
          const viaInfer = pathOf(inferShape(bad, tensorSig([2, d])));
          expect(owns(viaInfer), `${viaInfer} vs ${brokenPaths.join(', ')}`).toBe(true);
          expect(pathOf(compile(bad, { inputs: { input: tensorSig([2, d]) } }))).toBe(viaInfer);
          expect(pathOf(flops(bad, tensorSig([2, d])))).toBe(viaInfer);
          // and it is the prefix of every parameter that node owns: exactly `<path>.<own name>`
          expect(brokenPaths.filter((q) => q.startsWith(`${viaInfer}.`)).every((q) => !q.slice(viaInfer.length + 1).includes('.'))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('GPT-style block: a mis-dimensioned projection is h.0.c_proj, a path paramSpecs lists', () => {
    const D = 8;
    const block = seq(
      residual(seq(named('ln_1', layerNorm(D)), named('attn', multiHeadAttention(D, 2)))),
      residual(seq(named('c_fc', dense(D, 4 * D)), named('c_proj', dense(3 * D, D)))),
    );
    const model = seq(embedding(50, D), named('h', repeat(block, 2)));
    const r = inferShape(model, tensorSig([1, 4], 'int32'));
    expect(pathOf(r)).toBe('h.0.c_proj');
    expect(unwrap(paramSpecs(model)).map((s) => s.path)).toContain('h.0.c_proj.kernel');
  });

  it('inside a shared block, the shared scope: encoder.ffn', () => {
    const D = 8;
    const block = seq(named('attention', multiHeadAttention(D, 2)), named('ffn', dense(D + 1, D)));
    const model = seq(embedding(50, D), repeat(shared(block, 'encoder'), 3));
    expect(pathOf(compile(model))).toBe('encoder.ffn');
    expect(unwrap(paramSpecs(model)).map((s) => s.path)).toContain('encoder.ffn.kernel');
  });

  it('a node without parameters: its scope path and kind, or its name', () => {
    expect(pathOf(inferShape(seq(dense(4, 4), named('pool', maxPool())), tensorSig([2, 4])))).toBe('pool');
    expect(pathOf(inferShape(named('mix', seq(dense(4, 4), transposeSeq)), tensorSig([2, 4])))).toBe('mix.transpose');
  });

  it('field errors from the parameter walk speak the same language', () => {
    const bad = seq(named('a', dense(4, 4)), named('b', dense(4, -1)));
    expect(pathOf(countParams(bad))).toBe('b');
  });
});
