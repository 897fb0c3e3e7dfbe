// Laws of the primitives added with the per-primitive structure: conv1d, masked mean/max pooling,
// the sequence↔feature transpose, bias, sinusoidal positions and repeat's step signal.
// For each: inferred shape = compiled shape (100 cases), FLOPs = a hand count (200 cases, pure),
// values and gradients = autodiff of the plain formula written independently (100 cases each;
// tolerance 1e-4 relative: same process, different op order).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import {
  bias,
  compile,
  conv1d,
  convOutLength,
  dense,
  flops,
  inferShape,
  init,
  maxPool,
  meanPool,
  named,
  repeat,
  seq,
  shared,
  sinusoidalPositions,
  sinusoidTable,
  tensorSig,
  transposeSeq,
  unwrap,
  type Conv1dNode,
  type Node,
  type Params,
  type TensorSig,
} from '../src/index.js';

const sigOf = (t: tf.Tensor): TensorSig => tensorSig(t.shape, t.dtype === 'int32' ? 'int32' : 'float32');

/** Runs `f` with fresh parameters of `m`, disposing everything after. */
const withModel = (m: Node, seed: number, f: (p: Params, run: (inputs: Record<string, tf.Tensor>) => tf.Tensor) => void): void => {
  const p = unwrap(init(m, seed));
  const g = unwrap(compile(m));
  try {
    tf.tidy(() => f(p, (inputs) => g(p, inputs) as tf.Tensor));
  } finally {
    Object.values(p).forEach((v) => v.dispose());
  }
};

const close = (a: tf.Tensor, b: tf.Tensor, tol = 1e-4): void => {
  expect(a.shape).toEqual(b.shape);
  const err = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number;
  const scale = 1 + (tf.max(tf.abs(b)).dataSync()[0] as number);
  expect(err / scale).toBeLessThan(tol);
};

const convCfg = fc
  .record({
    cin: fc.integer({ min: 1, max: 3 }),
    cout: fc.integer({ min: 1, max: 3 }),
    width: fc.integer({ min: 1, max: 4 }),
    stride: fc.integer({ min: 1, max: 3 }),
    dilation: fc.integer({ min: 1, max: 3 }),
    padding: fc.constantFrom<'same' | 'valid'>('same', 'valid'),
    act: fc.constantFrom('identity' as const, 'relu' as const, 'tanh' as const),
    b: fc.integer({ min: 1, max: 2 }),
    s: fc.integer({ min: 1, max: 12 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map((c) => ({ ...c, dilation: c.stride > 1 ? 1 : c.dilation }))
  .filter((c) => c.padding === 'same' || c.s >= c.dilation * (c.width - 1) + 1);

/** The plain formula: explicit zero padding, one strided gather and one matmul per tap. */
const convReference = (x: tf.Tensor3D, k: tf.Tensor3D, b: tf.Tensor, n: Conv1dNode): tf.Tensor => {
  const [, s] = x.shape;
  const out = convOutLength(n, s) as number;
  const span = n.dilation * (n.width - 1) + 1;
  const total = n.padding === 'same' ? Math.max((out - 1) * n.stride + span - s, 0) : 0;
  const left = Math.floor(total / 2);
  const xp = tf.pad(x, [[0, 0], [left, total - left], [0, 0]]);
  let y: tf.Tensor = tf.zeros([x.shape[0], out, n.outChannels]);
  for (let j = 0; j < n.width; j++) {
    const idx = tf.tensor1d(Array.from({ length: out }, (_, t) => t * n.stride + j * n.dilation), 'int32');
    const taps = tf.gather(xp, idx, 1); // [b, out, in]
    const w = tf.reshape(tf.slice(k, [j, 0, 0], [1, n.inChannels, n.outChannels]), [n.inChannels, n.outChannels]);
    y = tf.add(y, tf.reshape(tf.matMul(tf.reshape(taps, [-1, n.inChannels]), w), [x.shape[0], out, n.outChannels]));
  }
  y = tf.add(y, b);
  return n.activation === 'relu' ? tf.relu(y) : n.activation === 'tanh' ? tf.tanh(y) : y;
};

describe('conv1d', () => {
  it('inferred shape = compiled shape; values and gradients (input, kernel) = the plain formula (100 cases)', () => {
    fc.assert(
      fc.property(convCfg, (c) => {
        const node = conv1d(c.cin, c.cout, c.width, { stride: c.stride, dilation: c.dilation, padding: c.padding, activation: c.act, init: { kind: 'normal', std: 0.7 } });
        const m = named('conv', node);
        withModel(m, c.seed, (p, run) => {
          const x = tf.randomNormal([c.b, c.s, c.cin], 0, 1, 'float32', c.seed);
          const y = run({ input: x });
          expect(y.shape).toEqual((unwrap(inferShape(m, sigOf(x))) as TensorSig).shape);
          const w = tf.randomNormal(y.shape, 0, 1, 'float32', c.seed + 1);
          const k = p['conv.kernel'] as tf.Variable;
          const ours = (xx: tf.Tensor, kk: tf.Tensor) => tf.sum(tf.mul(unwrap(compile(m))({ ...p, 'conv.kernel': kk }, { input: xx }) as tf.Tensor, w));
          const ref = (xx: tf.Tensor, kk: tf.Tensor) => tf.sum(tf.mul(convReference(xx as tf.Tensor3D, kk as tf.Tensor3D, p['conv.bias'] as tf.Tensor, node as Conv1dNode), w));
          close(ours(x, k), ref(x, k));
          const [gx, gk] = tf.grads(ours)([x, k]);
          const [rx, rk] = tf.grads(ref)([x, k]);
          close(gx as tf.Tensor, rx as tf.Tensor);
          close(gk as tf.Tensor, rk as tf.Tensor);
        });
      }),
      { numRuns: 100 },
    );
  });

  it('FLOPs = 2·b·s′·out·width·in + bias + activation (200 cases, pure)', () => {
    fc.assert(
      fc.property(convCfg, (c) => {
        const node = conv1d(c.cin, c.cout, c.width, { stride: c.stride, dilation: c.dilation, padding: c.padding, activation: c.act }) as Conv1dNode;
        const out = convOutLength(node, c.s) as number;
        const act = { identity: 0, relu: 1, tanh: 4 }[c.act];
        expect(unwrap(flops(node, tensorSig([c.b, c.s, c.cin])))).toBe(2 * c.b * out * c.cout * c.width * c.cin + c.b * out * c.cout + act * c.b * out * c.cout);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a sequence shorter than the kernel (valid) and stride with dilation, by path', () => {
    const r = compile(seq(conv1d(2, 2, 5, { padding: 'valid' })), { inputs: { input: tensorSig([null, 3, 2]) } });
    expect(r._tag === 'Left' && r.left.message).toMatch(/shorter than the kernel's span 5/);
    const s = inferShape(conv1d(2, 2, 3, { stride: 2, dilation: 2, padding: 'same' }), tensorSig([1, 8, 2]));
    expect(s._tag === 'Left' && s.left.message).toMatch(/stride and dilation cannot both exceed 1/);
  });
});

const poolCfg = fc.record({
  op: fc.constantFrom<'mean' | 'max'>('mean', 'max'),
  b: fc.integer({ min: 1, max: 3 }),
  s: fc.integer({ min: 1, max: 6 }),
  d: fc.integer({ min: 1, max: 4 }),
  withMask: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1e6 }),
});

describe('masked mean and max pooling', () => {
  it('inferred shape = compiled shape; values and gradients = the formula over valid positions only (100 cases)', () => {
    fc.assert(
      fc.property(poolCfg, fc.array(fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), { minLength: 3, maxLength: 3 }), (c, bits) => {
        const m = c.op === 'mean' ? meanPool() : maxPool();
        withModel(m, 0, (_p, run) => {
          const x = tf.randomNormal([c.b, c.s, c.d], 0, 1, 'float32', c.seed);
          const rows = bits.slice(0, c.b).map((r) => r.slice(0, c.s).map((v) => (v ? 1 : 0)));
          const mask = tf.tensor2d(rows, [c.b, c.s], 'int32');
          const inputs = (xx: tf.Tensor) => ({ input: xx, ...(c.withMask ? { attention_mask: mask } : {}) });
          const y = run(inputs(x));
          expect(y.shape).toEqual((unwrap(inferShape(m, sigOf(x), c.withMask ? { attention_mask: sigOf(mask) } : {})) as TensorSig).shape);
          // the plain formula, row by row: pick the valid positions, then mean or max (zeros if none)
          const ref = (xx: tf.Tensor): tf.Tensor =>
            tf.stack(
              Array.from({ length: c.b }, (_, r) => {
                const valid = c.withMask ? (rows[r] as number[]).flatMap((v, t) => (v ? [t] : [])) : Array.from({ length: c.s }, (_, t) => t);
                if (valid.length === 0) return tf.mul(tf.sum(xx), tf.zeros([c.d]));
                const picked = tf.gather(tf.squeeze(tf.slice(xx, [r, 0, 0], [1, c.s, c.d]), [0]), tf.tensor1d(valid, 'int32'));
                return c.op === 'mean' ? tf.mean(picked, 0) : tf.max(picked, 0);
              }),
            );
          const w = tf.randomNormal([c.b, c.d], 0, 1, 'float32', c.seed + 1);
          const ours = (xx: tf.Tensor) => tf.sum(tf.mul(run(inputs(xx)), w));
          const theirs = (xx: tf.Tensor) => tf.sum(tf.mul(ref(xx), w));
          close(y, ref(x));
          close(tf.grad(ours)(x), tf.grad(theirs)(x));
        });
      }),
      { numRuns: 100 },
    );
  });

  it('FLOPs: 2 per input element (mean, or max with a mask), 1 for an unmasked max (200 cases, pure)', () => {
    fc.assert(
      fc.property(poolCfg, (c) => {
        const m = c.op === 'mean' ? meanPool({ maskInput: c.withMask ? 'attention_mask' : null }) : maxPool({ maskInput: c.withMask ? 'attention_mask' : null });
        const per = c.op === 'mean' || c.withMask ? 2 : 1;
        expect(unwrap(flops(m, tensorSig([c.b, c.s, c.d])))).toBe(per * c.b * c.s * c.d);
      }),
      { numRuns: 200 },
    );
  });
});

describe('transposeSeq, bias, sinusoidalPositions', () => {
  const cfg = fc.record({ b: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 6 }), d: fc.integer({ min: 1, max: 6 }), seed: fc.integer({ min: 0, max: 1e6 }) });

  it('transpose: shapes track the sequence length (a dense after it is checked against seq), values by index (100 cases)', () => {
    fc.assert(
      fc.property(cfg, (c) => {
        const m = seq(transposeSeq, named('mix', dense(c.s, c.s)), transposeSeq);
        expect((unwrap(inferShape(m, tensorSig([c.b, c.s, c.d]))) as TensorSig).shape).toEqual([c.b, c.s, c.d]);
        expect(inferShape(m, tensorSig([c.b, c.s + 1, c.d]))._tag).toBe('Left');
        withModel(transposeSeq, 0, (_p, run) => {
          const x = tf.randomNormal([c.b, c.s, c.d], 0, 1, 'float32', c.seed);
          const y = run({ input: x }).arraySync() as number[][][];
          const xs = x.arraySync() as number[][][];
          expect(y.length).toBe(c.b);
          for (let r = 0; r < c.b; r++) for (let t = 0; t < c.s; t++) for (let k = 0; k < c.d; k++) expect(y[r]?.[k]?.[t]).toBe(xs[r]?.[t]?.[k]);
        });
        expect(unwrap(flops(m, tensorSig([c.b, c.s, c.d])))).toBe(2 * c.b * c.d * c.s * c.s + c.b * c.d * c.s);
      }),
      { numRuns: 100 },
    );
  });

  it('bias: x + b, the gradient of b is Σ dy, FLOPs one per element (100 cases)', () => {
    fc.assert(
      fc.property(cfg, (c) => {
        const m = named('b', bias(c.d));
        withModel(m, 0, (p, run) => {
          const bv = tf.randomNormal([c.d], 0, 1, 'float32', c.seed + 3);
          const x = tf.randomNormal([c.b, c.s, c.d], 0, 1, 'float32', c.seed);
          const f = unwrap(compile(m));
          close(f({ ...p, 'b.bias': bv }, { input: x }) as tf.Tensor, tf.add(x, bv));
          expect(run({ input: x }).shape).toEqual((unwrap(inferShape(m, sigOf(x))) as TensorSig).shape);
          const dy = tf.randomNormal([c.b, c.s, c.d], 0, 1, 'float32', c.seed + 1);
          const g = tf.grad((bb: tf.Tensor) => tf.sum(tf.mul(f({ ...p, 'b.bias': bb }, { input: x }) as tf.Tensor, dy)))(bv);
          close(g, tf.sum(dy, [0, 1]));
        });
        expect(unwrap(flops(m, tensorSig([c.b, c.s, c.d])))).toBe(c.b * c.s * c.d);
      }),
      { numRuns: 100 },
    );
  });

  it('sinusoidalPositions adds sin/cos(p / 10000^(2⌊k/2⌋/d)), whatever the length (100 cases)', () => {
    fc.assert(
      fc.property(cfg, (c) => {
        const m = sinusoidalPositions();
        withModel(m, 0, (_p, run) => {
          const x = tf.zeros([c.b, c.s, c.d]);
          const y = run({ input: x }).arraySync() as number[][][];
          for (let t = 0; t < c.s; t++)
            for (let k = 0; k < c.d; k++) {
              const a = t / 10000 ** ((2 * Math.floor(k / 2)) / c.d);
              expect(Math.abs((y[c.b - 1]?.[t]?.[k] as number) - (k % 2 === 0 ? Math.sin(a) : Math.cos(a)))).toBeLessThan(1e-6);
            }
        });
        expect(unwrap(flops(m, tensorSig([c.b, c.s, c.d])))).toBe(c.b * c.s * c.d);
        expect(sinusoidTable(c.s, c.d, 10000)).toHaveLength(c.s * c.d);
      }),
      { numRuns: 100 },
    );
  });
});

describe("repeat's step signal (Universal Transformer)", () => {
  const cfg = fc.record({
    times: fc.integer({ min: 1, max: 4 }),
    d: fc.integer({ min: 1, max: 4 }),
    s: fc.integer({ min: 1, max: 3 }),
    signal: fc.constantFrom<'sinusoidal' | 'embedding'>('sinusoidal', 'embedding'),
    seed: fc.integer({ min: 0, max: 1e6 }),
  });

  it('= the unrolled formula f(… f(f(x + e₀) + e₁) …), values and gradients of the step table (100 cases)', () => {
    fc.assert(
      fc.property(cfg, (c) => {
        const body = shared(dense(c.d, c.d, { activation: 'tanh', initStd: 0.5 }), 'block');
        const m = c.signal === 'embedding' ? repeat(body, c.times, { step: 'embedding', dim: c.d, initStd: 0.5 }) : repeat(body, c.times, { step: 'sinusoidal' });
        withModel(m, c.seed, (p, run) => {
          const x = tf.randomNormal([2, c.s, c.d], 0, 1, 'float32', c.seed);
          const y = run({ input: x });
          expect(y.shape).toEqual((unwrap(inferShape(m, sigOf(x))) as TensorSig).shape);
          const stepRows = (table: tf.Tensor | undefined) =>
            Array.from({ length: c.times }, (_, i) =>
              table ? tf.reshape(tf.slice(table, [i, 0], [1, c.d]), [c.d]) : tf.tensor1d(sinusoidTable(c.times, c.d, 10000).slice(i * c.d, (i + 1) * c.d)),
            );
          const unrolled = (table: tf.Tensor | undefined) =>
            stepRows(table).reduce((h, e) => tf.tanh(tf.add(tf.matMul(tf.reshape(tf.add(h, e), [-1, c.d]), p['block.kernel'] as tf.Tensor2D).reshape(h.shape), p['block.bias'] as tf.Tensor)), x as tf.Tensor);
          const table = p['step_0.embeddings'];
          expect(table !== undefined).toBe(c.signal === 'embedding');
          close(y, unrolled(table));
          if (table) {
            const f = unwrap(compile(m));
            const w = tf.randomNormal(y.shape, 0, 1, 'float32', c.seed + 1);
            const g = tf.grad((tt: tf.Tensor) => tf.sum(tf.mul(f({ ...p, 'step_0.embeddings': tt }, { input: x }) as tf.Tensor, w)))(table);
            const r = tf.grad((tt: tf.Tensor) => tf.sum(tf.mul(unrolled(tt), w)))(table);
            close(g, r);
          }
        });
        // FLOPs: the body's, times, plus one add per element per step
        const dn = 2 * 2 * c.s * c.d * c.d + 2 * c.s * c.d + 4 * 2 * c.s * c.d;
        expect(unwrap(flops(m, tensorSig([2, c.s, c.d])))).toBe(c.times * (dn + 2 * c.s * c.d));
      }),
      { numRuns: 100 },
    );
  });
});
