// traceToFunction: a training step of random DSL models (fast-check, every combinator incl.
// dropout with a seed tensor) traced into one TensorFlow function gives the same loss, gradient
// norm and parameters as the same step run eagerly; host reads and large captures are refused.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { callFunction, compile, init, traceToFunction, unwrap, type Node } from '../src/index.js';
import { endoLayer, smallDim } from './arbitraries.js';

const relDiff = (a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): number => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)) / Math.max(1, Math.abs(a[i] as number)));
  return worst;
};

/** A pure SGD step of `model` with an MSE loss: (params…, x, y, seed) → (new params…, loss, grad norm). */
const stepOf = (model: Node, names: readonly string[]) => {
  const f = unwrap(compile(model));
  return (flat: tf.Tensor[]): tf.Tensor[] => {
    const ps = flat.slice(0, names.length);
    const [x, y, seed] = flat.slice(names.length) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const { value, grads } = tf.engine().gradients(
      () => {
        const out = f(Object.fromEntries(names.map((n, i) => [n, ps[i] as tf.Tensor])), { input: x }, { training: true, seedTensor: seed }) as tf.Tensor;
        return tf.mean(tf.square(tf.sub(out, y))) as tf.Scalar;
      },
      ps,
      undefined,
      true,
    );
    const gs = ps.map((p, i) => grads[i] ?? tf.zerosLike(p));
    const norm = tf.sqrt(gs.reduce<tf.Tensor>((a, g) => tf.add(a, tf.sum(tf.square(g))), tf.scalar(0)));
    return [...ps.map((p, i) => tf.sub(p, tf.mul(gs[i] as tf.Tensor, 0.05))), value, norm];
  };
};

describe('traceToFunction', () => {
  it('a traced training step of random DSL models equals the eager step over 5 steps (60 models)', () => {
    let n = 0;
    fc.assert(
      fc.property(smallDim.chain((d) => fc.tuple(fc.constant(d), endoLayer(d, 2), fc.integer({ min: 1, max: 1000 }))), ([d, body, seed]) => {
        // a leading dense layer: every model has parameters to train
        const model: Node = { kind: 'seq', layers: [{ kind: 'dense', inDim: d, outDim: d, bias: true, activation: 'identity', initStd: 0.3 }, body] };
        const params = unwrap(init(model, seed));
        const names = Object.keys(params);
        const step = stepOf(model, names);
        let eagerPs: tf.Tensor[] = names.map((k) => tf.clone(params[k] as tf.Tensor));
        let graphPs: tf.Tensor[] = names.map((k) => tf.clone(params[k] as tf.Tensor));
        Object.values(params).forEach((v) => v.dispose());
        const x = tf.randomNormal([3, d], 0, 1, 'float32', seed);
        const y = tf.randomNormal([3, d], 0, 1, 'float32', seed + 1);
        let fnName: string | undefined;
        for (let s = 0; s < 5; s++) {
          const seedT = tf.tensor1d([seed, s], 'int32');
          const eager = tf.tidy(() => step([...eagerPs, x, y, seedT]));
          let graph: tf.Tensor[];
          if (fnName === undefined) {
            const r = tf.tidy(() => {
              const t = traceToFunction('lamina_test_dsl_step', step, [...graphPs, x, y, seedT]);
              if (E.isRight(t)) t.right.outputs.forEach((o) => tf.keep(o));
              return t as never;
            }) as ReturnType<typeof traceToFunction>;
            if (E.isLeft(r)) throw new Error(r.left.message);
            fnName = r.right.name;
            graph = r.right.outputs;
          } else graph = unwrap(callFunction(fnName, [...graphPs, x, y, seedT], names.length + 2));
          expect(graph.length).toBe(eager.length);
          eager.forEach((e, i) => expect(relDiff(e.dataSync() as Float32Array, (graph[i] as tf.Tensor).dataSync() as Float32Array), `step ${s} output ${i}`).toBeLessThanOrEqual(1e-5));
          tf.dispose([...eagerPs, ...graphPs, seedT, ...eager.slice(names.length), ...graph.slice(names.length)]);
          eagerPs = eager.slice(0, names.length);
          graphPs = graph.slice(0, names.length);
        }
        tf.dispose([...eagerPs, ...graphPs, x, y]);
        n++;
      }),
      { numRuns: 60, seed: 12 },
    );
    expect(n).toBe(60);
  });

  it('refuses a function that reads values on the host, and one that captures a large non-argument', () => {
    const x = tf.ones([2]);
    const read = traceToFunction('lamina_test_host_read', ([a]) => [tf.mul(a!, (a!.dataSync()[0] as number) + 1)], [x]);
    expect(E.isLeft(read) && read.left.message).toMatch(/reads tensor values on the host/);
    const big = tf.ones([300, 300]);
    const cap = traceToFunction('lamina_test_capture', ([a]) => [tf.add(tf.sum(big), a!)], [x]);
    expect(E.isLeft(cap) && cap.left.message).toMatch(/not one of its arguments/);
    // a small capture becomes a constant of the graph
    const small = tf.tensor1d([10, 20]);
    const ok = traceToFunction('lamina_test_small_capture', ([a]) => [tf.add(small, a!)], [x]);
    expect(E.isRight(ok)).toBe(true);
    if (E.isRight(ok)) {
      const [r] = unwrap(callFunction(ok.right.name, [tf.tensor1d([1, 2])], 1));
      expect(Array.from(r!.dataSync())).toEqual([11, 22]);
      tf.dispose([r!, ...ok.right.outputs]);
    }
    tf.dispose([x, big, small]);
  });
});
