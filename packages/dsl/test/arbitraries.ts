// fast-check generators of small random layer trees, shared by the law tests.
import fc from 'fast-check';
import { ACTIVATIONS, type Activation, type Node } from '../src/index.js';

let sharedCounter = 0;

/**
 * Random "endo" layers at width d (`[..., d] → [..., d]`), built from every combinator:
 * dense, layerNorm, activation, dropout, residual, branch(add), seq, repeat, shared, named.
 * Shared nodes get fresh names so two different bodies never collide.
 */
export const endoLayer = (d: number, maxDepth = 3): fc.Arbitrary<Node> => {
  const act = fc.constantFrom<Activation>(...ACTIVATIONS.filter((a) => a !== 'softmax'));
  const leaf: fc.Arbitrary<Node> = fc.oneof(
    act.map((a): Node => ({ kind: 'dense', inDim: d, outDim: d, bias: true, activation: a, initStd: 0.3 })),
    fc.boolean().map((bias): Node => ({ kind: 'dense', inDim: d, outDim: d, bias, activation: 'identity', initStd: 0.3 })),
    fc.constant<Node>({ kind: 'layerNorm', dim: d, epsilon: 1e-6 }),
    act.map((fn): Node => ({ kind: 'activation', fn })),
    fc.constant<Node>({ kind: 'dropout', rate: 0.1 }),
  );
  const tree = (depth: number): fc.Arbitrary<Node> =>
    depth <= 0
      ? leaf
      : fc.oneof(
          { weight: 3, arbitrary: leaf },
          { weight: 1, arbitrary: fc.array(tree(depth - 1), { minLength: 1, maxLength: 3 }).map((layers): Node => ({ kind: 'seq', layers })) },
          { weight: 1, arbitrary: tree(depth - 1).map((f): Node => ({ kind: 'branch', branches: [{ kind: 'identity' }, f], merge: 'add' })) },
          { weight: 1, arbitrary: fc.tuple(tree(depth - 1), fc.integer({ min: 1, max: 3 })).map(([f, times]): Node => ({ kind: 'repeat', layer: f, times })) },
          { weight: 1, arbitrary: tree(depth - 1).map((f): Node => ({ kind: 'shared', name: `s${sharedCounter++}`, layer: f })) },
          // unique names: two siblings named alike would claim one parameter path (an error, tested elsewhere)
          { weight: 1, arbitrary: fc.tuple(tree(depth - 1), fc.constantFrom('a', 'b', 'block')).map(([f, name]): Node => ({ kind: 'named', name: `${name}${sharedCounter++}`, layer: f })) },
        );
  return tree(maxDepth);
};

/** A small width. */
export const smallDim = fc.integer({ min: 1, max: 6 });

/** True when a layer contains no shared node (so its untied copies really are independent). */
export const unshared = (n: Node): boolean =>
  n.kind === 'shared' ? false : n.kind === 'seq' ? n.layers.every(unshared) : n.kind === 'branch' ? n.branches.every(unshared) : 'layer' in n ? unshared(n.layer) : true;
