import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import {
  accumulate,
  average,
  clipByGlobalNorm,
  createOptimizer,
  globalNorm,
  isDecayExcluded,
  parseOptimizerKind,
  resolveHyper,
  valueAndGrads,
  type Optimizer,
  type OptimizerHyper,
  type OptimizerKind,
} from '../src/optim/index.js';

const make = (kind: OptimizerKind, hyper: OptimizerHyper = {}): Optimizer => {
  const r = createOptimizer(kind, hyper);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

const norm = (xs: number[]): number => Math.sqrt(xs.reduce((a, x) => a + x * x, 0));

/**
 * The reference update (ALBERT lamb_optimizer.py / BERT AdamWeightDecayOptimizer) written out in
 * plain JS arithmetic for one parameter. Returns the new w, m, v.
 */
const referenceStep = (
  kind: OptimizerKind,
  w: number[],
  g: number[],
  m: number[],
  v: number[],
  lr: number,
  opts: { decay: boolean; adapt: boolean; wd?: number; t?: number; biasCorrection?: boolean },
): { w: number[]; m: number[]; v: number[] } => {
  const b1 = 0.9;
  const b2 = 0.999;
  const eps = 1e-6;
  const wd = opts.wd ?? 0.01;
  const nm = m.map((mi, i) => b1 * mi + (1 - b1) * g[i]!);
  const nv = v.map((vi, i) => b2 * vi + (1 - b2) * g[i]! * g[i]!);
  const c1 = opts.biasCorrection ? 1 - b1 ** opts.t! : 1;
  const c2 = opts.biasCorrection ? 1 - b2 ** opts.t! : 1;
  let u = nm.map((mi, i) => mi / c1 / (Math.sqrt(nv[i]! / c2) + eps));
  if (opts.decay) u = u.map((ui, i) => ui + wd * w[i]!);
  let ratio = 1;
  if (kind === 'lamb' && opts.adapt) {
    const wn = norm(w);
    const un = norm(u);
    ratio = wn > 0 && un > 0 ? wn / un : 1;
  }
  return { w: w.map((wi, i) => wi - lr * ratio * u[i]!), m: nm, v: nv };
};

const expectClose = (actual: ArrayLike<number>, expected: number[], tol = 1e-5): void => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i]!)));
};

describe('isDecayExcluded', () => {
  it('excludes biases and LayerNorm parameters by path, nothing else', () => {
    for (const p of ['pooler.bias', 'embeddings.layer_norm.gamma', 'embeddings.layer_norm.beta', 'encoder.group0.layer0.ffn_norm.gamma', 'x.LayerNorm.weight', 'a.beta'])
      expect(isDecayExcluded(p), p).toBe(true);
    for (const p of ['encoder.group0.layer0.attention.query.kernel', 'embeddings.word_embeddings', 'pooler.kernel', 'biased.kernel', 'normal.kernel'])
      expect(isDecayExcluded(p), p).toBe(false);
  });
});

describe('hyper-parameters', () => {
  it('defaults to ALBERT pretraining values', () => {
    const h = resolveHyper();
    expect(E.isRight(h)).toBe(true);
    if (E.isRight(h)) {
      expect([h.right.beta1, h.right.beta2, h.right.epsilon, h.right.weightDecay, h.right.biasCorrection]).toEqual([0.9, 0.999, 1e-6, 0.01, false]);
      expect(h.right.excludeFromAdaptation('pooler.bias')).toBe(true);
    }
  });
  it('rejects out-of-range values and unknown kinds with readable messages', () => {
    const bad = createOptimizer('lamb', { beta1: 1, epsilon: 0, weightDecay: -1 });
    expect(E.isLeft(bad)).toBe(true);
    if (E.isLeft(bad)) expect(bad.left.message).toBe('invalid optimizer hyper-parameters: beta1 must be in [0, 1), got 1; epsilon must be a positive number, got 0; weightDecay must be ≥ 0, got -1');
    const kind = parseOptimizerKind('sgd');
    expect(kind).toEqual(E.left({ _tag: 'OptimizerError', message: 'unknown optimizer "sgd": allowed values are lamb, adamw' }));
    expect(E.isLeft(createOptimizer('sgd' as OptimizerKind))).toBe(true);
  });
});

describe('LAMB', () => {
  it('matches a hand-computed two-step update, with an excluded bias and a decayed kernel', () => {
    // By hand for step 1 of the kernel: m = 0.1·g, v = 0.001·g², so m/(√v+ε) ≈ 0.1/√0.001·sign(g)
    // = ±3.16228; plus 0.01·w → u ≈ [3.17228, -3.14228, 3.14228]; ‖w‖ = 3, ‖u‖ ≈ 5.46; ratio ≈ 0.5495.
    const w0 = [1, 2, -2];
    const b0 = [0.5, -0.5];
    const params = { 'layer.kernel': tf.variable(tf.tensor1d(w0)), 'layer.bias': tf.variable(tf.tensor1d(b0)) };
    const opt = make('lamb');
    const g1 = { k: [0.5, -1, 2], b: [1, 0.2] };
    const g2 = { k: [-0.3, 0.4, 1], b: [0.1, -2] };
    const lr = 0.1;
    let k = { w: w0, m: [0, 0, 0], v: [0, 0, 0] };
    let b = { w: b0, m: [0, 0], v: [0, 0] };
    for (const g of [g1, g2]) {
      const grads = { 'layer.kernel': tf.tensor1d(g.k), 'layer.bias': tf.tensor1d(g.b) };
      opt.step(params, grads, lr);
      tf.dispose(Object.values(grads));
      k = referenceStep('lamb', k.w, g.k, k.m, k.v, lr, { decay: true, adapt: true });
      b = referenceStep('lamb', b.w, g.b, b.m, b.v, lr, { decay: false, adapt: false });
    }
    // Sanity-check the first-step numbers quoted above against the reference arithmetic.
    const first = referenceStep('lamb', w0, g1.k, [0, 0, 0], [0, 0, 0], lr, { decay: true, adapt: true });
    expectClose(first.w, [1 - 0.1 * 0.54953 * 3.17228, 2 + 0.1 * 0.54953 * 3.14228, -2 - 0.1 * 0.54953 * 3.14228], 1e-4);
    expectClose(params['layer.kernel'].dataSync(), k.w);
    expectClose(params['layer.bias'].dataSync(), b.w);
    // The bias moved by plain lr·u (no trust ratio): u ≈ ±3.16 per step, so about 0.63 over two steps.
    expect(Math.abs(params['layer.bias'].dataSync()[0]! - b0[0]!)).toBeGreaterThan(0.6);
    const st = opt.state();
    expectClose(st['layer.kernel/adam_m']!.dataSync(), k.m);
    expectClose(st['layer.kernel/adam_v']!.dataSync(), k.v);
    expect(st.global_step!.dtype).toBe('int32');
    expect(st.global_step!.dataSync()[0]).toBe(2);
    tf.dispose(Object.values(st));
    tf.dispose(Object.values(params));
    opt.dispose();
  });

  it('uses a trust ratio of 1 when the weight norm is 0', () => {
    const params = { 'q.kernel': tf.variable(tf.zeros([2])) };
    const opt = make('lamb');
    const g = tf.tensor1d([2, -1]);
    opt.step(params, { 'q.kernel': g }, 0.5);
    const ref = referenceStep('lamb', [0, 0], [2, -1], [0, 0], [0, 0], 0.5, { decay: true, adapt: true });
    expectClose(params['q.kernel'].dataSync(), ref.w);
    expect(Math.abs(params['q.kernel'].dataSync()[0]! + 0.5 * 3.1623)).toBeLessThan(1e-3);
    tf.dispose([g, params['q.kernel']]);
    opt.dispose();
  });

  it('honours an override exclusion predicate', () => {
    const params = { 'a.kernel': tf.variable(tf.tensor1d([3, 4])) };
    const opt = make('lamb', { excludeFromDecay: () => true });
    const g = tf.tensor1d([1, 1]);
    opt.step(params, { 'a.kernel': g }, 0.1);
    const ref = referenceStep('lamb', [3, 4], [1, 1], [0, 0], [0, 0], 0.1, { decay: false, adapt: false });
    expectClose(params['a.kernel'].dataSync(), ref.w);
    tf.dispose([g, params['a.kernel']]);
    opt.dispose();
  });

  it('leaves parameters without a gradient untouched and rejects unknown gradient paths', () => {
    const params = { 'a.kernel': tf.variable(tf.tensor1d([3, 4])), 'b.kernel': tf.variable(tf.tensor1d([1])) };
    const opt = make('lamb');
    const g = tf.tensor1d([1, 1]);
    opt.step(params, { 'a.kernel': g }, 0.1);
    expect(Array.from(params['b.kernel'].dataSync())).toEqual([1]);
    expect(() => opt.step(params, { 'c.kernel': g }, 0.1)).toThrow('gradient for "c.kernel" has no parameter of that path');
    expect(() => opt.step(params, { 'b.kernel': g }, 0.1)).toThrow('has shape [2] but the parameter has [1]');
    tf.dispose([g, ...Object.values(params)]);
    opt.dispose();
  });
});

describe('AdamW', () => {
  it('matches a hand-computed two-step update with decoupled decay and an excluded LayerNorm gamma', () => {
    const params = { 'enc.dense.kernel': tf.variable(tf.tensor2d([[1, -2], [0.5, 3]])), 'enc.layer_norm.gamma': tf.variable(tf.tensor1d([1, 1])) };
    const opt = make('adamw', { weightDecay: 0.1 });
    let k = { w: [1, -2, 0.5, 3], m: [0, 0, 0, 0], v: [0, 0, 0, 0] };
    let gm = { w: [1, 1], m: [0, 0], v: [0, 0] };
    const steps = [
      { k: [0.2, -0.1, 0, 1], g: [0.3, -0.3], lr: 0.01 },
      { k: [-0.4, 0.2, 0.5, 0.5], g: [1, 0], lr: 0.02 },
    ];
    for (const s of steps) {
      const grads = { 'enc.dense.kernel': tf.tensor2d(s.k, [2, 2]), 'enc.layer_norm.gamma': tf.tensor1d(s.g) };
      opt.step(params, grads, tf.scalar(s.lr));
      tf.dispose(Object.values(grads));
      k = referenceStep('adamw', k.w, s.k, k.m, k.v, s.lr, { decay: true, adapt: false, wd: 0.1 });
      gm = referenceStep('adamw', gm.w, s.g, gm.m, gm.v, s.lr, { decay: false, adapt: false, wd: 0.1 });
    }
    // A zero gradient entry still moves its weight through decay alone on step 1: w −= lr·0.1·w.
    expectClose(params['enc.dense.kernel'].dataSync(), k.w);
    expectClose(params['enc.layer_norm.gamma'].dataSync(), gm.w);
    tf.dispose(Object.values(params));
    opt.dispose();
  });

  it('bias-corrects when asked: the first update is ≈ lr·sign(g)', () => {
    const params = { 'x.kernel': tf.variable(tf.tensor1d([0, 0, 0])) };
    const opt = make('adamw', { biasCorrection: true, weightDecay: 0 });
    const g = tf.tensor1d([0.001, -5, 2]);
    opt.step(params, { 'x.kernel': g }, 0.1);
    const ref = referenceStep('adamw', [0, 0, 0], [0.001, -5, 2], [0, 0, 0], [0, 0, 0], 0.1, { decay: false, adapt: false, t: 1, biasCorrection: true });
    expectClose(params['x.kernel'].dataSync(), ref.w);
    expectClose(params['x.kernel'].dataSync(), [-0.1, 0.1, -0.1], 1e-3);
    tf.dispose([g, params['x.kernel']]);
    opt.dispose();
  });
});

describe('optimizer state', () => {
  it('state → loadState reproduces the same subsequent updates', () => {
    for (const kind of ['lamb', 'adamw'] as const) {
      const mk = () => ({ 'l.kernel': tf.variable(tf.tensor1d([1, 2, 3])), 'l.bias': tf.variable(tf.tensor1d([0.1])) });
      const pa = mk();
      const a = make(kind);
      const gs = [0, 1, 2, 3].map((i) => ({ 'l.kernel': tf.tensor1d([i - 1, 0.5, -i]), 'l.bias': tf.tensor1d([i / 3]) }));
      for (const g of gs.slice(0, 2)) a.step(pa, g, 0.05);
      const saved = a.state();
      const pb = mk();
      for (const key of Object.keys(pb)) pb[key as keyof typeof pb].assign(pa[key as keyof typeof pa]);
      const b = make(kind);
      expect(b.loadState(saved, pb)).toEqual(E.right(undefined));
      expect(b.stepCount()).toBe(2);
      tf.dispose(Object.values(saved)); // the optimizer must not depend on the caller's tensors
      for (const g of gs.slice(2)) {
        a.step(pa, g, 0.05);
        b.step(pb, g, 0.05);
      }
      expect(Array.from(pb['l.kernel'].dataSync())).toEqual(Array.from(pa['l.kernel'].dataSync()));
      expect(Array.from(pb['l.bias'].dataSync())).toEqual(Array.from(pa['l.bias'].dataSync()));
      tf.dispose([...gs.flatMap((g) => Object.values(g)), ...Object.values(pa), ...Object.values(pb)]);
      a.dispose();
      b.dispose();
    }
  });

  it('rejects malformed states with readable errors and changes nothing', () => {
    const params = { 'l.kernel': tf.variable(tf.tensor1d([1, 2])) };
    const opt = make('lamb');
    const m = tf.zeros([3]);
    const v = tf.zeros([3]);
    const s = tf.scalar(4, 'int32');
    const msg = (r: E.Either<{ message: string }, void>) => (E.isLeft(r) ? r.left.message : 'ok');
    expect(msg(opt.loadState({ 'l.kernel/adam_m': m, 'l.kernel/adam_v': v }))).toBe('optimizer state has no "global_step" entry');
    expect(msg(opt.loadState({ 'l.kernel/adam_m': m, 'l.kernel/adam_v': v, global_step: s }, params))).toBe(
      'optimizer state for "l.kernel" has shape [3] but the parameter has [2]',
    );
    expect(msg(opt.loadState({ 'l.kernel/adam_m': m, global_step: s }))).toBe('optimizer state has "l.kernel/adam_m" but no "l.kernel/adam_v"');
    expect(msg(opt.loadState({ 'other/adam_m': m, 'other/adam_v': v, global_step: s }, params))).toBe(
      'optimizer state has moments for "other" but the model has no such parameter',
    );
    expect(msg(opt.loadState({ junk: m, global_step: s }))).toContain('unexpected entry "junk"');
    expect(opt.stepCount()).toBe(0);
    tf.dispose([m, v, s, params['l.kernel']]);
    opt.dispose();
  });
});

describe('no tensor leaks', () => {
  it('keeps tf.memory().numTensors constant across many steps with clipping and accumulation', () => {
    for (const kind of ['lamb', 'adamw'] as const) {
      const params = { 'd.kernel': tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 1)), 'd.bias': tf.variable(tf.zeros([3])) };
      const x = tf.randomNormal([8, 4], 0, 1, 'float32', 2);
      const opt = make(kind);
      const lossFn = (xs: tf.Tensor) => () => tf.mean(tf.square(tf.add(tf.matMul(xs, params['d.kernel']), params['d.bias']))) as tf.Scalar;
      const trainStep = (i: number) => {
        let sum: Record<string, tf.Tensor> | undefined;
        for (const half of tf.split(x, 2)) {
          const { value, grads } = valueAndGrads(lossFn(half), params);
          sum = accumulate(sum, grads);
          tf.dispose([value, half, ...Object.values(grads)]);
        }
        const mean = average(sum!, 2);
        const { grads, norm } = clipByGlobalNorm(mean, 1);
        opt.step(params, grads, 0.01 * (1 + (i % 3)));
        tf.dispose([norm, ...Object.values(mean), ...Object.values(grads)]);
      };
      trainStep(0); // creates the moment slots
      const before = tf.memory().numTensors;
      for (let i = 1; i <= 25; i++) trainStep(i);
      expect(tf.memory().numTensors).toBe(before);
      const st = opt.state();
      tf.dispose(Object.values(st));
      expect(tf.memory().numTensors).toBe(before);
      opt.dispose();
      tf.dispose([x, ...Object.values(params)]);
    }
  });
});

describe('clipByGlobalNorm', () => {
  it('scales by maxNorm/globalNorm when above, and leaves gradients alone when below', () => {
    const g = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[0, 4]]) }; // global norm 5
    const { grads, norm } = clipByGlobalNorm(g, 1);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
    expectClose(grads.a!.dataSync(), [0.6, 0]);
    expectClose(grads.b!.dataSync(), [0, 0.8]);
    expect(grads.b!.shape).toEqual([1, 2]);
    const n2 = globalNorm(grads);
    expect(n2.dataSync()[0]).toBeCloseTo(1, 6);
    const loose = clipByGlobalNorm(g, 10);
    expectClose(loose.grads.a!.dataSync(), [3, 0]);
    expect(g.a.isDisposed).toBe(false);
    tf.dispose([norm, n2, loose.norm, ...Object.values(g), ...Object.values(grads), ...Object.values(loose.grads)]);
  });

  it('propagates a non-finite norm instead of hiding it', () => {
    const g = { a: tf.tensor1d([NaN, 1]) };
    const { grads, norm } = clipByGlobalNorm(g, 1);
    expect(Number.isNaN(norm.dataSync()[0])).toBe(true);
    expect(Number.isNaN(grads.a!.dataSync()[1])).toBe(true);
    tf.dispose([norm, g.a, grads.a!]);
  });
});

describe('gradient accumulation', () => {
  it('law: the mean of k equal micro-batch gradients of a mean loss equals the large-batch gradient', () => {
    const small = fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true });
    const arb = fc
      .record({ dIn: fc.integer({ min: 1, max: 3 }), dOut: fc.integer({ min: 1, max: 2 }), k: fc.integer({ min: 1, max: 4 }), micro: fc.integer({ min: 1, max: 3 }) })
      .chain((d) =>
        fc.record({
          d: fc.constant(d),
          x: fc.array(small, { minLength: d.k * d.micro * d.dIn, maxLength: d.k * d.micro * d.dIn }),
          y: fc.array(small, { minLength: d.k * d.micro * d.dOut, maxLength: d.k * d.micro * d.dOut }),
          w: fc.array(small, { minLength: d.dIn * d.dOut, maxLength: d.dIn * d.dOut }),
          b: fc.array(small, { minLength: d.dOut, maxLength: d.dOut }),
        }),
      );
    fc.assert(
      fc.property(arb, ({ d, x, y, w, b }) => {
        const n = d.k * d.micro;
        const params = { 'lin.kernel': tf.variable(tf.tensor2d(w, [d.dIn, d.dOut])), 'lin.bias': tf.variable(tf.tensor1d(b)) };
        const X = tf.tensor2d(x, [n, d.dIn]);
        const Y = tf.tensor2d(y, [n, d.dOut]);
        const loss = (xs: tf.Tensor, ys: tf.Tensor) => () =>
          tf.mean(tf.square(tf.sub(tf.add(tf.matMul(xs, params['lin.kernel']), params['lin.bias']), ys))) as tf.Scalar;
        const before = tf.memory().numTensors;
        const big = valueAndGrads(loss(X, Y), params);
        let sum: Record<string, tf.Tensor> | undefined;
        const xs = tf.split(X, d.k);
        const ys = tf.split(Y, d.k);
        for (let i = 0; i < d.k; i++) {
          const { value, grads } = valueAndGrads(loss(xs[i]!, ys[i]!), params);
          sum = accumulate(sum, grads);
          tf.dispose([value, ...Object.values(grads)]);
        }
        const mean = average(sum!, d.k);
        for (const key of Object.keys(params)) {
          const a = big.grads[key]!.dataSync();
          const m = mean[key]!.dataSync();
          for (let i = 0; i < a.length; i++) expect(Math.abs(m[i]! - a[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(a[i]!)));
        }
        tf.dispose([big.value, ...Object.values(big.grads), ...xs, ...ys, ...Object.values(mean)]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([X, Y, ...Object.values(params)]);
      }),
      { numRuns: 50, seed: 20250601 },
    );
  });

  it('rejects micro-batches with different parameter paths', () => {
    const a = { x: tf.scalar(1) };
    const b = { y: tf.scalar(1) };
    const s = accumulate(undefined, a);
    expect(() => accumulate(s, b)).toThrow('gradient paths differ between micro-batches ([x] vs [y])');
    expect(() => average(s, 0)).toThrow('count must be a positive integer');
    tf.dispose([a.x, b.y, s.x!]);
  });
});
