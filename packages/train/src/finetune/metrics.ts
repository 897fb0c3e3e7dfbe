/**
 * Task metrics as total functions over plain arrays: accuracy, per-class and macro F1 for
 * classification; Pearson, Spearman and MSE for regression. Degenerate inputs give defined values
 * (an empty set has accuracy 0; a constant series has correlation 0), never NaN.
 *
 * @example
 * ```ts
 * accuracy([1, 0, 1], [1, 1, 1]);        // 2/3
 * macroF1([1, 0, 1], [1, 1, 1], 2);      // (0 + 0.8) / 2
 * pearson([1, 2, 3], [2, 4, 7]);         // ≈ 0.9934
 * spearman([1, 2, 3], [2, 4, 7]);        // 1
 * ```
 * @module
 */

type Nums = ArrayLike<number>;

/**
 * Fraction of positions where prediction and gold agree (0 for empty input).
 * @example accuracy([0, 1, 1, 0], [0, 1, 0, 0]) // 0.75
 */
export const accuracy = (pred: Nums, gold: Nums): number => {
  const n = Math.min(pred.length, gold.length);
  if (n === 0) return 0;
  let ok = 0;
  for (let i = 0; i < n; i++) if (pred[i] === gold[i]) ok++;
  return ok / n;
};

/**
 * F1 of class `c`: 2·TP / (2·TP + FP + FN); 0 when the class is neither predicted nor present.
 * @example f1Of([1, 1, 0, 0], [1, 0, 1, 0], 1) // 2·1 / (2·1 + 1 + 1) = 0.5
 */
export const f1Of = (pred: Nums, gold: Nums, c: number): number => {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const n = Math.min(pred.length, gold.length);
  for (let i = 0; i < n; i++) {
    const p = pred[i] === c;
    const g = gold[i] === c;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  const d = 2 * tp + fp + fn;
  return d === 0 ? 0 : (2 * tp) / d;
};

/**
 * Unweighted mean of the per-class F1 over classes `0 … numClasses−1` that occur in the gold
 * labels or the predictions (scikit-learn's `f1_score(average='macro')` over the labels present).
 * @example macroF1([0, 0, 1, 2], [0, 1, 1, 2], 3) // (2/3 + 2/3 + 1) / 3
 */
export const macroF1 = (pred: Nums, gold: Nums, numClasses: number): number => {
  const seen = new Set<number>();
  const n = Math.min(pred.length, gold.length);
  for (let i = 0; i < n; i++) {
    seen.add(pred[i] as number);
    seen.add(gold[i] as number);
  }
  const classes = Array.from({ length: numClasses }, (_, c) => c).filter((c) => seen.has(c));
  if (classes.length === 0) return 0;
  return classes.reduce((s, c) => s + f1Of(pred, gold, c), 0) / classes.length;
};

const mean = (x: Nums): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] as number;
  return x.length === 0 ? 0 : s / x.length;
};

/**
 * Pearson's correlation coefficient (0 when either series is constant or shorter than 2).
 * @example pearson([1, 2, 3], [10, 20, 30]) // 1
 */
export const pearson = (x: Nums, y: Nums): number => {
  const n = Math.min(x.length, y.length);
  if (n < 2) return 0;
  const mx = mean(Array.prototype.slice.call(x, 0, n) as number[]);
  const my = mean(Array.prototype.slice.call(y, 0, n) as number[]);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return 0;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
};

/**
 * Ranks from 1, ties sharing the mean of the ranks they span ("fractional" ranking).
 * @example ranks([10, 30, 20, 20]) // [1, 4, 2.5, 2.5]
 */
export const ranks = (x: Nums): number[] => {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => (x[a] as number) - (x[b] as number));
  const r = new Array<number>(x.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1] as number] === x[idx[i] as number]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k] as number] = avg;
    i = j + 1;
  }
  return r;
};

/**
 * Spearman's rank correlation: Pearson on fractional ranks (ties averaged, as SciPy does).
 * @example spearman([1, 2, 3, 4], [1, 4, 9, 16]) // 1
 */
export const spearman = (x: Nums, y: Nums): number => {
  const n = Math.min(x.length, y.length);
  return pearson(ranks(Array.prototype.slice.call(x, 0, n) as number[]), ranks(Array.prototype.slice.call(y, 0, n) as number[]));
};

/**
 * Mean squared error (0 for empty input).
 * @example mse([1, 2], [1, 4]) // 2
 */
export const mse = (pred: Nums, gold: Nums): number => {
  const n = Math.min(pred.length, gold.length);
  if (n === 0) return 0;
  let s = 0;
  for (let i = 0; i < n; i++) s += ((pred[i] as number) - (gold[i] as number)) ** 2;
  return s / n;
};

/**
 * Classification metrics. `f1` is the F1 of class 1 (the second label in sorted order — e.g.
 * `positive`, `1`) and is present only for two-class tasks. `loss` is the mean cross-entropy.
 * @example { kind: 'classification', count: 500, accuracy: 0.84, macroF1: 0.839, f1: 0.85, loss: 0.37 }
 */
export interface ClassificationMetrics {
  readonly kind: 'classification';
  readonly count: number;
  readonly accuracy: number;
  readonly macroF1: number;
  readonly f1?: number;
  readonly loss: number;
}

/**
 * Regression metrics (`loss` equals `mse`).
 * @example { kind: 'regression', count: 200, pearson: 0.81, spearman: 0.79, mse: 0.64, loss: 0.64 }
 */
export interface RegressionMetrics {
  readonly kind: 'regression';
  readonly count: number;
  readonly pearson: number;
  readonly spearman: number;
  readonly mse: number;
  readonly loss: number;
}

/**
 * Metrics of a task evaluation.
 * @example formatTaskMetrics(m) // 'accuracy 84.0%, macro-F1 0.839, F1 0.850, loss 0.370 (500 examples)'
 */
export type TaskMetrics = ClassificationMetrics | RegressionMetrics;

/**
 * Classification metrics from row-major logits `[n, numClasses]` and gold class indices.
 * @example classificationMetrics(Float32Array.of(2, 0, 0, 1), Int32Array.of(0, 0), 2) // accuracy 0.5
 */
export const classificationMetrics = (logits: Nums, gold: Nums, numClasses: number): ClassificationMetrics => {
  const n = gold.length;
  const pred = new Int32Array(n);
  let lossSum = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      const v = logits[i * numClasses + c] as number;
      if (v > max) {
        max = v;
        best = c;
      }
    }
    let z = 0;
    for (let c = 0; c < numClasses; c++) z += Math.exp((logits[i * numClasses + c] as number) - max);
    lossSum += Math.log(z) + max - (logits[i * numClasses + (gold[i] as number)] as number);
    pred[i] = best;
  }
  return {
    kind: 'classification',
    count: n,
    accuracy: accuracy(pred, gold),
    macroF1: macroF1(pred, gold, numClasses),
    ...(numClasses === 2 ? { f1: f1Of(pred, gold, 1) } : {}),
    loss: n === 0 ? 0 : lossSum / n,
  };
};

/**
 * Regression metrics from predictions and targets.
 * @example regressionMetrics([1, 2, 3], [1, 2, 4]) // pearson ≈ 0.98, spearman 1, mse 1/3
 */
export const regressionMetrics = (pred: Nums, gold: Nums): RegressionMetrics => {
  const m = mse(pred, gold);
  return { kind: 'regression', count: gold.length, pearson: pearson(pred, gold), spearman: spearman(pred, gold), mse: m, loss: m };
};

/**
 * One line for logs and the CLI.
 * @example formatTaskMetrics({ kind: 'regression', count: 3, pearson: 0.9, spearman: 1, mse: 0.2, loss: 0.2 }) // 'Pearson 0.900, Spearman 1.000, MSE 0.2000 (3 examples)'
 */
export const formatTaskMetrics = (m: TaskMetrics): string =>
  m.kind === 'classification'
    ? `accuracy ${(100 * m.accuracy).toFixed(1)}%, macro-F1 ${m.macroF1.toFixed(3)}${m.f1 === undefined ? '' : `, F1 ${m.f1.toFixed(3)}`}, loss ${m.loss.toFixed(3)} (${m.count} examples)`
    : `Pearson ${m.pearson.toFixed(3)}, Spearman ${m.spearman.toFixed(3)}, MSE ${m.mse.toFixed(4)} (${m.count} examples)`;

/**
 * The metrics as `eval/<name>` values for metrics.jsonl and TensorBoard.
 * @example metricValues(m) // { 'eval/accuracy': 0.84, 'eval/macro_f1': 0.839, 'eval/f1': 0.85, 'eval/loss': 0.37 }
 */
export const metricValues = (m: TaskMetrics): Record<string, number> =>
  m.kind === 'classification'
    ? { 'eval/accuracy': m.accuracy, 'eval/macro_f1': m.macroF1, ...(m.f1 === undefined ? {} : { 'eval/f1': m.f1 }), 'eval/loss': m.loss }
    : { 'eval/pearson': m.pearson, 'eval/spearman': m.spearman, 'eval/mse': m.mse, 'eval/loss': m.loss };
