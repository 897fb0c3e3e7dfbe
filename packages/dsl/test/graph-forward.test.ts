// compileToGraph: the eval-mode forward of random DSL models (fast-check, every combinator) on one
// TensorFlow function per input signature gives compile's outputs within 1e-5 relative; one trace
// per shape, cached; parameters are arguments (new weights, same function); no tensor leaks;
// a model that cannot be traced runs eager after one notice; training calls run compile's function.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { compile, compileToGraph, dense, fanout, graphRunner, init, ModelInputError, seq, tensorSig, unwrap, type Node } from '../src/index.js';
import { endoLayer, smallDim } from './arbitraries.js';

const relDiff = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.div(tf.max(tf.abs(tf.sub(a, b))), tf.maximum(tf.max(tf.abs(a)), 1)).dataSync()[0] as number);

describe('compileToGraph', () => {
  it('gives the eager forward of random DSL models within 1e-5 relative, one traced function per input shape (60 models)', () => {
    let n = 0;
    fc.assert(
      fc.property(smallDim.chain((d) => fc.tuple(fc.constant(d), endoLayer(d, 2), fc.integer({ min: 1, max: 1000 }))), ([d, body, seed]) => {
        const model: Node = { kind: 'seq', layers: [{ kind: 'dense', inDim: d, outDim: d, bias: true, activation: 'identity', initStd: 0.3 }, body] };
        const params = unwrap(init(model, seed));
        const eager = unwrap(compile(model));
        const notices: string[] = [];
        const graph = unwrap(compileToGraph(model, { onNotice: (l) => notices.push(l) }));
        for (const B of [3, 2, 3]) {
          const x = tf.randomNormal([B, d], 0, 1, 'float32', seed + B);
          const e = eager(params, { input: x }) as tf.Tensor;
          const g = graph(params, { input: x }) as tf.Tensor;
          expect(g.shape).toEqual(e.shape);
          expect(relDiff(e, g), `batch ${B}`).toBeLessThanOrEqual(1e-5);
          tf.dispose([x, e, g]);
        }
        expect(notices).toEqual([]);
        expect(graph.engine()).toBe('graph');
        expect(graph.tracedFunctions()).toBe(2);
        tf.dispose(Object.values(params));
        n++;
      }),
      { numRuns: 60, seed: 21 },
    );
    expect(n).toBe(60);
  });

  it('takes parameters as arguments (new weights, no retrace), keeps named outputs, and leaks no tensor over repeated calls', () => {
    const model = seq(dense(4, 8, { activation: 'relu' }), fanout({ a: dense(8, 2), b: dense(8, 3) }));
    const p1 = unwrap(init(model, 1));
    const p2 = unwrap(init(model, 2));
    const eager = unwrap(compile(model));
    const graph = unwrap(compileToGraph(model, { onNotice: () => {} }));
    const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3);
    for (const p of [p1, p2]) {
      const e = eager(p, { input: x }) as Record<string, tf.Tensor>;
      const g = graph(p, { input: x }) as Record<string, tf.Tensor>;
      expect(Object.keys(g)).toEqual(['a', 'b']);
      for (const k of ['a', 'b']) expect(relDiff(e[k]!, g[k]!)).toBeLessThanOrEqual(1e-5);
      tf.dispose([...Object.values(e), ...Object.values(g)]);
    }
    expect(graph.tracedFunctions()).toBe(1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) tf.dispose(Object.values(graph(p1, { input: x }) as Record<string, tf.Tensor>));
    expect(tf.memory().numTensors).toBe(before);
    expect(graph.tracedFunctions()).toBe(1);
    tf.dispose([x, ...Object.values(p1), ...Object.values(p2)]);
  });

  it('checks inputs as compile does (the same ModelInputError, before any op), and training calls run the eager function', () => {
    const model = seq(dense(4, 8), { kind: 'dropout', rate: 0.5 } as Node, dense(8, 2));
    const p = unwrap(init(model, 1));
    const graph = unwrap(compileToGraph(model, { onNotice: () => {} }));
    const before = tf.memory().numTensors;
    const ok = tf.ones([2, 4]);
    expect(() => graph(p, { inptu: ok })).toThrow(ModelInputError);
    const bad = tf.ones([2, 5]);
    expect(() => graph(p, { input: bad })).toThrow(ModelInputError);
    tf.dispose([ok, bad]);
    expect(tf.memory().numTensors).toBe(before);
    expect(graph.tracedFunctions()).toBe(0);
    const x = tf.ones([2, 4]);
    const eager = unwrap(compile(model));
    const e = eager(p, { input: x }, { training: true, seed: 9 }) as tf.Tensor;
    const g = graph(p, { input: x }, { training: true, seed: 9 }) as tf.Tensor;
    expect(Array.from(g.dataSync())).toEqual(Array.from(e.dataSync()));
    expect(graph.tracedFunctions()).toBe(0);
    tf.dispose([x, e, g, ...Object.values(p)]);
  });

  it('runs eager after one notice line when the function cannot be traced (a host read), and eager when asked with no notice', () => {
    const notices: string[] = [];
    const r = graphRunner('lamina_test_reads', { onNotice: (l) => notices.push(l) });
    const x = tf.tensor1d([1, 2]);
    const fn = ([a]: tf.Tensor[]) => [tf.mul(a!, a!.dataSync()[0] as number)];
    for (let i = 0; i < 3; i++) {
      const [y] = r.run('k', fn, [x]);
      expect(Array.from(y!.dataSync())).toEqual([1, 2]);
      y!.dispose();
    }
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^graph: cannot compile this function to one graph \(.*host.*\); running eager$/);
    expect(r.engine()).toBe('eager');
    const quiet: string[] = [];
    const model = dense(4, 2);
    const p = unwrap(init(model, 1));
    const f = unwrap(compileToGraph(model, { engine: 'eager', onNotice: (l) => quiet.push(l) }));
    tf.dispose(f(p, { input: tf.ones([1, 4]) }) as tf.Tensor);
    expect(f.engine()).toBe('eager');
    expect(f.tracedFunctions()).toBe(0);
    expect(quiet).toEqual([]);
    tf.dispose([x, ...Object.values(p)]);
  });

  it('is a Left, as compile, for a model that does not fit its declared inputs', () => {
    const r = compileToGraph(dense(4, 2), { inputs: { input: tensorSig([null, 5], 'float32') } });
    expect(E.isLeft(r) && r.left.message).toMatch(/5/);
  });
});
