/**
 * A linear probe: binary logistic regression on frozen features, in plain JavaScript (no tensors,
 * deterministic to the bit for the same inputs). Features are standardised with the training
 * split's mean and standard deviation; the weights start at zero and are fitted by full-batch
 * Adam (β = 0.9, 0.999) on the mean cross-entropy plus an L2 penalty.
 *
 * This is how the report scores the sentence-level skill of a model that has no sentence head
 * (Table 5's "none" arm), and, for comparison, of the others.
 *
 * @example
 * ```ts
 * // 4 examples with 2 features each, row-major
 * const x = Float32Array.of(1, 0, 2, 0, 0, 1, 0, 2);
 * const p = trainLinearProbe({ x, n: 4, d: 2, y: [1, 1, 0, 0] }, { steps: 200 });
 * probeAccuracy(p, { x, n: 4, d: 2, y: [1, 1, 0, 0] }); // 1
 * ```
 * @module
 */

/** `n` examples of `d` features (row-major) with 0/1 labels. */
export interface ProbeData {
  readonly x: Float32Array;
  readonly n: number;
  readonly d: number;
  readonly y: ArrayLike<number>;
}

/** Probe training options. */
export interface ProbeOptions {
  /** Full-batch Adam steps (default 300). */
  readonly steps?: number;
  /** Adam learning rate (default 0.05). */
  readonly lr?: number;
  /** L2 penalty on the weights (default 1e-3). */
  readonly l2?: number;
}

/** A fitted probe. */
export interface LinearProbe {
  readonly mean: Float64Array;
  readonly std: Float64Array;
  readonly w: Float64Array;
  readonly b: number;
  /** Training-split accuracy at the end. */
  readonly trainAccuracy: number;
}

/** The defaults of {@link trainLinearProbe}. */
export const PROBE_DEFAULTS = { steps: 300, lr: 0.05, l2: 1e-3 } as const;

const standardiser = (data: ProbeData): { mean: Float64Array; std: Float64Array } => {
  const { x, n, d } = data;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (x[i * d + j] as number) / n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const c = (x[i * d + j] as number) - (mean[j] as number);
      std[j] = (std[j] as number) + (c * c) / n;
    }
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j] as number) || 1;
  return { mean, std };
};

const logits = (p: Pick<LinearProbe, 'mean' | 'std' | 'w' | 'b'>, data: ProbeData): Float64Array => {
  const { x, n, d } = data;
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = p.b;
    for (let j = 0; j < d; j++) s += (p.w[j] as number) * (((x[i * d + j] as number) - (p.mean[j] as number)) / (p.std[j] as number));
    z[i] = s;
  }
  return z;
};

/**
 * The accuracy of a probe on labelled features (the prediction is `logit > 0`).
 * @example probeAccuracy(probe, heldOut) // e.g. 0.5 for features that carry no signal
 */
export const probeAccuracy = (p: LinearProbe, data: ProbeData): number => {
  if (data.n === 0) return NaN;
  const z = logits(p, data);
  let correct = 0;
  for (let i = 0; i < data.n; i++) if ((z[i] as number) > 0 === ((data.y[i] as number) === 1)) correct++;
  return correct / data.n;
};

/**
 * Fits a logistic-regression probe (see the module comment). Deterministic.
 * @example const p = trainLinearProbe(train, { steps: 300, lr: 0.05, l2: 1e-3 });
 */
export const trainLinearProbe = (data: ProbeData, o: ProbeOptions = {}): LinearProbe => {
  const steps = o.steps ?? PROBE_DEFAULTS.steps;
  const lr = o.lr ?? PROBE_DEFAULTS.lr;
  const l2 = o.l2 ?? PROBE_DEFAULTS.l2;
  const { n, d, x, y } = data;
  const { mean, std } = standardiser(data);
  // standardised copy, so each step is one pass over n·d numbers
  const xs = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) xs[i * d + j] = ((x[i * d + j] as number) - (mean[j] as number)) / (std[j] as number);
  const w = new Float64Array(d);
  let b = 0;
  const m = new Float64Array(d + 1);
  const v = new Float64Array(d + 1);
  const g = new Float64Array(d + 1);
  const b1 = 0.9;
  const b2 = 0.999;
  for (let t = 1; t <= steps; t++) {
    g.fill(0);
    for (let i = 0; i < n; i++) {
      let z = b;
      for (let j = 0; j < d; j++) z += (w[j] as number) * (xs[i * d + j] as number);
      const p = 1 / (1 + Math.exp(-z));
      const e = (p - (y[i] as number)) / n;
      for (let j = 0; j < d; j++) g[j] = (g[j] as number) + e * (xs[i * d + j] as number);
      g[d] = (g[d] as number) + e;
    }
    for (let j = 0; j < d; j++) g[j] = (g[j] as number) + l2 * (w[j] as number);
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (let j = 0; j <= d; j++) {
      m[j] = b1 * (m[j] as number) + (1 - b1) * (g[j] as number);
      v[j] = b2 * (v[j] as number) + (1 - b2) * (g[j] as number) ** 2;
      const step = (lr * ((m[j] as number) / c1)) / (Math.sqrt((v[j] as number) / c2) + 1e-8);
      if (j < d) w[j] = (w[j] as number) - step;
      else b -= step;
    }
  }
  const fitted = { mean, std, w, b, trainAccuracy: 0 };
  return { ...fitted, trainAccuracy: probeAccuracy(fitted, data) };
};
