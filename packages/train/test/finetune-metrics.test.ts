// Task metrics against hand-computed values, and the laws they obey.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { accuracy, classificationMetrics, f1Of, formatTaskMetrics, macroF1, metricValues, mse, pearson, ranks, regressionMetrics, spearman } from '../src/finetune/metrics.js';

const finite = fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true });
const series = fc.array(finite, { minLength: 3, maxLength: 40 }).filter((xs) => new Set(xs).size > 1 && Math.max(...xs) - Math.min(...xs) > 1e-3);

describe('classification metrics', () => {
  it('accuracy and F1 by hand', () => {
    const gold = [1, 1, 1, 0, 0, 0, 0, 1];
    const pred = [1, 0, 1, 0, 1, 0, 0, 1];
    expect(accuracy(pred, gold)).toBe(6 / 8);
    // class 1: TP 3, FP 1, FN 1 → 6/8; class 0: TP 3, FP 1, FN 1 → 6/8
    expect(f1Of(pred, gold, 1)).toBeCloseTo(0.75, 12);
    expect(f1Of(pred, gold, 0)).toBeCloseTo(0.75, 12);
    // three classes: per-class F1 = 2/3, 2/3, 1
    expect(macroF1([0, 0, 1, 2], [0, 1, 1, 2], 3)).toBeCloseTo((2 / 3 + 2 / 3 + 1) / 3, 12);
    // a class absent from both predictions and gold does not count
    expect(macroF1([0, 1], [0, 1], 5)).toBe(1);
    // always predicting one class: F1 of the other is 0
    expect(macroF1([1, 1, 1, 1], [1, 1, 0, 0], 2)).toBeCloseTo((0 + 2 / 3) / 2, 12);
  });

  it('degenerate inputs are defined', () => {
    expect(accuracy([], [])).toBe(0);
    expect(f1Of([0, 0], [0, 0], 1)).toBe(0);
    expect(macroF1([], [], 2)).toBe(0);
  });

  it('from logits: argmax, mean cross-entropy, binary F1 of class 1', () => {
    const logits = Float32Array.of(2, 0, 0, 1, 3, 1);
    const m = classificationMetrics(logits, Int32Array.of(0, 1, 1), 2);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    const ce = (a: number, b: number, y: number) => Math.log(Math.exp(a) + Math.exp(b)) - (y === 0 ? a : b);
    expect(m.loss).toBeCloseTo((ce(2, 0, 0) + ce(0, 1, 1) + ce(3, 1, 1)) / 3, 6);
    expect(m.f1).toBeCloseTo(2 / 3, 12); // class 1: TP 1, FN 1
    expect(classificationMetrics(Float32Array.of(1, 2, 3), Int32Array.of(2), 3).f1).toBeUndefined();
    expect(formatTaskMetrics(m)).toBe('accuracy 66.7%, macro-F1 0.667, F1 0.667, loss ' + m.loss.toFixed(3) + ' (3 examples)');
    expect(Object.keys(metricValues(m))).toEqual(['eval/accuracy', 'eval/macro_f1', 'eval/f1', 'eval/loss']);
  });

  it('accuracy is invariant under a permutation of examples; F1 is symmetric in relabelling both sides (properties)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: 1, maxLength: 50 }), (pairs) => {
        const p = pairs.map((x) => x[0]);
        const g = pairs.map((x) => x[1]);
        const rev = [...pairs].reverse();
        expect(accuracy(rev.map((x) => x[0]), rev.map((x) => x[1]))).toBeCloseTo(accuracy(p, g), 12);
        const swap = (c: number) => (c === 0 ? 1 : c === 1 ? 0 : c);
        expect(macroF1(p.map(swap), g.map(swap), 3)).toBeCloseTo(macroF1(p, g, 3), 12);
        expect(f1Of(p, g, 1)).toBeCloseTo(f1Of(g, p, 1), 12);
      }),
    );
  });
});

describe('regression metrics', () => {
  it('Pearson, Spearman and MSE by hand', () => {
    // x = 1,2,3; y = 2,4,7: mean 13/3; cov terms: (-1)(-7/3)+0+(1)(8/3) = 5; Σdx² = 2; Σdy² = 49/9+1/9+64/9 = 38/3
    expect(pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(5 / Math.sqrt(2 * (38 / 3)), 12);
    expect(spearman([1, 2, 3], [2, 4, 7])).toBe(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(mse([1, 2], [1, 4])).toBe(2);
    expect(ranks([10, 30, 20, 20])).toEqual([1, 4, 2.5, 2.5]);
    // ties: x ranks 1, 2.5, 2.5, 4; y ranks 1..4 → Pearson of ranks
    expect(spearman([1, 5, 5, 9], [1, 2, 3, 4])).toBeCloseTo(pearson([1, 2.5, 2.5, 4], [1, 2, 3, 4]), 12);
    const m = regressionMetrics([1, 2, 3], [1, 2, 4]);
    expect(m.mse).toBeCloseTo(1 / 3, 12);
    expect(m.spearman).toBeCloseTo(1, 12);
    expect(formatTaskMetrics(m)).toMatch(/^Pearson 0\.98\d, Spearman 1\.000, MSE 0\.3333 \(3 examples\)$/);
  });

  it('constant or too-short series have correlation 0', () => {
    expect(pearson([1, 1, 1], [1, 2, 3])).toBe(0);
    expect(pearson([1], [2])).toBe(0);
    expect(spearman([2, 2], [1, 3])).toBe(0);
  });

  it('Pearson of a positive affine transform is 1, of a negative one −1; Spearman of a monotone transform is 1 (properties)', () => {
    fc.assert(
      fc.property(series, fc.double({ min: 0.01, max: 100, noNaN: true }), fc.double({ min: -100, max: 100, noNaN: true }), (xs, a, b) => {
        expect(pearson(xs, xs.map((x) => a * x + b))).toBeCloseTo(1, 6);
        expect(pearson(xs, xs.map((x) => -a * x + b))).toBeCloseTo(-1, 6);
      }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: -1000, max: 1000 }), { minLength: 3, maxLength: 40 }), (xs) => {
        expect(spearman(xs, xs.map((x) => Math.atan(x / 100) * 3 + 7))).toBeCloseTo(1, 9);
        expect(spearman(xs, xs.map((x) => -(x ** 3)))).toBeCloseTo(-1, 9);
      }),
    );
  });

  it('correlations are symmetric and within [−1, 1]; MSE is 0 iff equal (properties)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(finite, finite), { minLength: 2, maxLength: 30 }), (ps) => {
        const x = ps.map((p) => p[0]);
        const y = ps.map((p) => p[1]);
        const r = pearson(x, y);
        expect(r).toBeGreaterThanOrEqual(-1);
        expect(r).toBeLessThanOrEqual(1);
        expect(pearson(y, x)).toBeCloseTo(r, 9);
        expect(spearman(y, x)).toBeCloseTo(spearman(x, y), 9);
        expect(mse(x, x)).toBe(0);
        expect(mse(x, y)).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});
