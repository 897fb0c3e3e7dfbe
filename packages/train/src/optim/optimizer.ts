/**
 * LAMB and AdamW with decoupled weight decay, as in Google's ALBERT code (`lamb_optimizer.py`,
 * `optimization.py`): parameters are `tf.Variable`s keyed by path and updated in place.
 *
 * Neither reference optimizer bias-corrects its moments (there is no `1 − βᵗ` anywhere in
 * `LAMBOptimizer.apply_gradients` or `AdamWeightDecayOptimizer.apply_gradients`), so the
 * optimizer's own default, and pretraining's, does not either. `biasCorrection: true` switches on
 * the textbook Adam correction (`torch.optim.AdamW`, Hugging Face): without it the early updates
 * are larger by (1−β1ᵗ)/√(1−β2ᵗ) for a steady gradient (3.2× at step 1, 6.5× at step 10, 3.2× at
 * step 100), which the learning rates of fine-tuning recipes do not expect. {@link BIAS_CORRECTION_DEFAULTS} says which
 * kind of training uses which.
 *
 * @example
 * ```ts
 * const model = dense(4, 2);
 * const params = unwrap(init(model, 0));                        // tf.Variables keyed by path
 * const forward = unwrap(compile(model));
 * const opt = unwrap(createOptimizer('lamb', { weightDecay: 0.01 }));
 * const x = tf.randomNormal([8, 4]);
 * // grads keyed by parameter PATH, like params (tf.variableGrads keys by variable name: not these)
 * const { value, grads } = valueAndGrads(() => tf.mean(tf.square(forward(params, { input: x }) as tf.Tensor)), params);
 * opt.step(params, grads, 1e-3);
 * tf.dispose([value, x, ...Object.values(grads)]);
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { isDecayExcluded } from './exclude.js';

/**
 * The optimizers lamina implements.
 * @example OPTIMIZER_KINDS.includes('lamb') // true
 */
export const OPTIMIZER_KINDS = ['lamb', 'adamw'] as const;
/**
 * One of {@link OPTIMIZER_KINDS}.
 * @example const kind: OptimizerKind = 'adamw';
 */
export type OptimizerKind = (typeof OPTIMIZER_KINDS)[number];

/**
 * Why an optimizer could not be built, or a state could not be loaded.
 * @example { _tag: 'OptimizerError', message: 'unknown optimizer "sgd": allowed values are lamb, adamw' }
 */
export interface OptimizerError {
  readonly _tag: 'OptimizerError';
  readonly message: string;
}

const optimizerError = (message: string): OptimizerError => ({ _tag: 'OptimizerError', message });

/**
 * Hyper-parameters of {@link createOptimizer}; every field is optional and defaults to ALBERT's
 * pretraining setting (β1 0.9, β2 0.999, ε 1e-6, weight decay 0.01, no bias correction).
 * @example createOptimizer('lamb', { weightDecay: 0.01, excludeFromDecay: (p) => p.endsWith('.bias') })
 */
export interface OptimizerHyper {
  /** Decay of the first moment. Default 0.9. */
  readonly beta1?: number;
  /** Decay of the second moment. Default 0.999. */
  readonly beta2?: number;
  /** Added to √v in the denominator. Default 1e-6. */
  readonly epsilon?: number;
  /** Decoupled weight-decay rate λ (update += λ·w). Default 0.01. */
  readonly weightDecay?: number;
  /** Paths excluded from weight decay. Default {@link isDecayExcluded}. */
  readonly excludeFromDecay?: (path: string) => boolean;
  /**
   * Paths excluded from LAMB's trust ratio (ratio fixed at 1). Default: the same predicate as
   * `excludeFromDecay`, as in the reference (`exclude_from_layer_adaptation` falls back to
   * `exclude_from_weight_decay`). Ignored by AdamW.
   */
  readonly excludeFromAdaptation?: (path: string) => boolean;
  /** Divide m by 1−β1ᵗ and v by 1−β2ᵗ (textbook Adam). Default false, like the references. */
  readonly biasCorrection?: boolean;
}

/**
 * {@link OptimizerHyper} with every default filled in.
 * @example E.map((h: ResolvedHyper) => h.beta2)(resolveHyper({})) // right(0.999)
 */
export interface ResolvedHyper {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly excludeFromDecay: (path: string) => boolean;
  readonly excludeFromAdaptation: (path: string) => boolean;
  readonly biasCorrection: boolean;
}

/**
 * Trainable parameters keyed by path.
 * @example const params: Params = { 'pooler.kernel': tf.variable(tf.zeros([4, 4])) };
 */
export type Params = Readonly<Record<string, tf.Variable>>;
/**
 * Gradients keyed like the parameters they belong to.
 * @example const grads: Grads = { 'pooler.kernel': tf.ones([4, 4]) };
 */
export type Grads = Readonly<Record<string, tf.Tensor>>;

/**
 * Key of the step counter in {@link Optimizer.state}.
 * @example opt.state()[STEP_KEY] // int32 scalar: updates applied so far
 */
export const STEP_KEY = 'global_step';
/**
 * Suffix of a first-moment slot in {@link Optimizer.state} (`<path>/adam_m`, as in ALBERT).
 * @example opt.state()[`pooler.kernel${M_SUFFIX}`] // first moment of pooler.kernel
 */
export const M_SUFFIX = '/adam_m';
/**
 * Suffix of a second-moment slot in {@link Optimizer.state} (`<path>/adam_v`, as in ALBERT).
 * @example opt.state()[`pooler.kernel${V_SUFFIX}`] // second moment of pooler.kernel
 */
export const V_SUFFIX = '/adam_v';

/**
 * A stateful optimizer over path-keyed variables.
 * @example opt.step(params, grads, 1e-3); const st = opt.state(); saveCheckpoint(…, { optimizer: st, … }); tf.dispose(Object.values(st));
 */
export interface Optimizer {
  /** Which update rule this is. */
  readonly kind: OptimizerKind;
  /** The hyper-parameters in use. */
  readonly hyper: ResolvedHyper;
  /**
   * Applies one update to every parameter that has a gradient (parameters without one are left
   * alone, as in the reference), inside one `tf.tidy`; variables are assigned in place.
   * `lr` may be a number or a scalar tensor (not disposed). Throws only on programmer errors: a
   * gradient whose path has no parameter, or a shape mismatch.
   */
  step(params: Params, grads: Grads, lr: number | tf.Scalar): void;
  /** Number of updates applied so far (restored by {@link Optimizer.loadState}). */
  stepCount(): number;
  /**
   * The moment variables of the parameters that have them (those updated at least once), by path.
   * A graph step reads them as function arguments and assigns the function's results back.
   */
  slotVariables(): ReadonlyMap<string, { readonly m: tf.Variable; readonly v: tf.Variable }>;
  /**
   * One parameter's update as a pure function of tensors (what {@link Optimizer.step} applies):
   * the new weight and moments. `t` is the step number being taken (1-based) as a float32 scalar
   * tensor, used only for bias correction. Nothing is assigned.
   */
  updateOf(path: string, w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, lr: tf.Scalar, corrections: BiasCorrections): { w: tf.Tensor; m: tf.Tensor; v: tf.Tensor };
  /** The bias-correction divisors of step `t` (1-based) as host numbers: `1−β1ᵗ`, `1−β2ᵗ` (1, 1 when off). */
  corrections(t: number): { c1: number; c2: number };
  /** Counts one update applied outside {@link Optimizer.step} (by a graph step). */
  advance(): void;
  /**
   * A snapshot of the state: `<path>/adam_m`, `<path>/adam_v` (float32) per parameter seen so far
   * and `global_step` (int32 scalar). The tensors are new and owned by the caller (dispose them);
   * later steps do not change them.
   */
  state(): Record<string, tf.Tensor>;
  /**
   * Replaces the state by one produced by {@link Optimizer.state} (e.g. read from a checkpoint).
   * The values are copied; the caller keeps ownership of `state`. When `params` is given, every
   * slot must belong to a parameter of the same shape. Nothing changes when it returns Left.
   */
  loadState(state: Readonly<Record<string, tf.Tensor>>, params?: Params): E.Either<OptimizerError, void>;
  /** Frees the moment variables. */
  dispose(): void;
}

/**
 * Bias-correction divisors as scalar tensors (see {@link Optimizer.corrections}).
 * @example { c1: tf.scalar(0.1), c2: tf.scalar(0.001) }
 */
export interface BiasCorrections {
  readonly c1: tf.Scalar;
  readonly c2: tf.Scalar;
}

const DEFAULTS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay: 0.01, biasCorrection: false } as const;

/**
 * Whether Adam's moments are bias-corrected by default, per kind of training:
 * - `pretrain: false`: ALBERT's reference update, so pretraining keeps parity with it and runs
 *   written before the option existed resume bit-exactly;
 * - `finetune: true`, `train: true`: the textbook update of `torch.optim.AdamW` and Hugging Face,
 *   which fine-tuning learning rates are written for. Without it a fresh classifier at lr 1e-3
 *   can stay at chance (loss ln 2) even on a one-keyword task.
 * @example createOptimizer('adamw', { biasCorrection: BIAS_CORRECTION_DEFAULTS.finetune })
 */
export const BIAS_CORRECTION_DEFAULTS = { pretrain: false, finetune: true, train: true } as const;

/**
 * Fills in defaults and checks ranges: 0 ≤ β < 1, ε > 0, weight decay ≥ 0, all finite.
 * @example resolveHyper({ beta1: 0.8 }) // right({ beta1: 0.8, beta2: 0.999, epsilon: 1e-6, … })
 */
export const resolveHyper = (h: OptimizerHyper = {}): E.Either<OptimizerError, ResolvedHyper> => {
  const beta1 = h.beta1 ?? DEFAULTS.beta1;
  const beta2 = h.beta2 ?? DEFAULTS.beta2;
  const epsilon = h.epsilon ?? DEFAULTS.epsilon;
  const weightDecay = h.weightDecay ?? DEFAULTS.weightDecay;
  const problems: string[] = [];
  for (const [name, v] of [['beta1', beta1], ['beta2', beta2]] as const)
    if (!(Number.isFinite(v) && v >= 0 && v < 1)) problems.push(`${name} must be in [0, 1), got ${v}`);
  if (!(Number.isFinite(epsilon) && epsilon > 0)) problems.push(`epsilon must be a positive number, got ${epsilon}`);
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) problems.push(`weightDecay must be ≥ 0, got ${weightDecay}`);
  if (problems.length > 0) return E.left(optimizerError(`invalid optimizer hyper-parameters: ${problems.join('; ')}`));
  const excludeFromDecay = h.excludeFromDecay ?? isDecayExcluded;
  return E.right({
    beta1,
    beta2,
    epsilon,
    weightDecay,
    excludeFromDecay,
    excludeFromAdaptation: h.excludeFromAdaptation ?? excludeFromDecay,
    biasCorrection: h.biasCorrection ?? DEFAULTS.biasCorrection,
  });
};

/**
 * Parses an optimizer name as a user gives it.
 * @example parseOptimizerKind('lamb') // right('lamb'); parseOptimizerKind('sgd') // left(…)
 */
export const parseOptimizerKind = (s: string): E.Either<OptimizerError, OptimizerKind> =>
  (OPTIMIZER_KINDS as readonly string[]).includes(s)
    ? E.right(s as OptimizerKind)
    : E.left(optimizerError(`unknown optimizer "${s}": allowed values are ${OPTIMIZER_KINDS.join(', ')}`));

interface Slots {
  readonly m: tf.Variable;
  readonly v: tf.Variable;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Builds a LAMB or AdamW optimizer. Per parameter w with gradient g (t = step number from 1):
 *
 * ```
 * m ← β1·m + (1−β1)·g            v ← β2·v + (1−β2)·g²
 * u ← m / (√v + ε)               (m/(1−β1ᵗ), v/(1−β2ᵗ) instead when biasCorrection)
 * u ← u + λ·w                    unless excludeFromDecay(path)
 * r ← ‖w‖/‖u‖ (1 if either is 0) LAMB only, unless excludeFromAdaptation(path); else r = 1
 * w ← w − lr·r·u
 * ```
 *
 * Moment slots are created (zeros) the first time a parameter receives a gradient.
 *
 * @example
 * ```ts
 * const opt = createOptimizer('adamw', { weightDecay: 0.01 });
 * if (E.isRight(opt)) opt.right.step({ w }, { w: gradW }, 1e-3);
 * ```
 */
export const createOptimizer = (kind: OptimizerKind, hyper: OptimizerHyper = {}): E.Either<OptimizerError, Optimizer> => {
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(kind)) return parseOptimizerKind(kind) as E.Either<OptimizerError, never>;
  const resolved = resolveHyper(hyper);
  if (E.isLeft(resolved)) return resolved;
  const h = resolved.right;
  let slots = new Map<string, Slots>();
  let t = 0;

  const slotsFor = (path: string, w: tf.Variable): Slots => {
    let s = slots.get(path);
    if (s === undefined) {
      // Called inside step's tidy: the zeros are freed, the variables (untracked by tidy) stay.
      // Variables are left unnamed: tfjs names must be globally unique across optimizers.
      s = { m: tf.variable(tf.zeros(w.shape, 'float32'), false), v: tf.variable(tf.zeros(w.shape, 'float32'), false) };
      slots.set(path, s);
    }
    return s;
  };

  const step = (params: Params, grads: Grads, lr: number | tf.Scalar): void => {
    for (const path of Object.keys(grads)) {
      const w = params[path];
      if (w === undefined) throw new Error(`optimizer.step: gradient for "${path}" has no parameter of that path`);
      const g = grads[path] as tf.Tensor;
      if (!sameShape(w.shape, g.shape))
        throw new Error(`optimizer.step: gradient for "${path}" has shape [${g.shape}] but the parameter has [${w.shape}]`);
    }
    const tNext = t + 1;
    tf.tidy(() => {
      const lrT = typeof lr === 'number' ? tf.scalar(lr) : lr;
      const c = corrections(tNext);
      const cs = { c1: tf.scalar(c.c1), c2: tf.scalar(c.c2) };
      for (const path of Object.keys(grads)) {
        // one tidy per parameter: the temporaries of a large model's update (several times its
        // size) are freed as each parameter is done, not all held to the end of the step
        tf.tidy(() => {
          const w = params[path] as tf.Variable;
          const g = grads[path] as tf.Tensor;
          const { m, v } = slotsFor(path, w);
          const next = updateOf(path, w, g, m, v, lrT, cs);
          w.assign(next.w);
          m.assign(next.m);
          v.assign(next.v);
        });
      }
    });
    t = tNext;
  };

  const corrections = (tStep: number): { c1: number; c2: number } => ({
    c1: h.biasCorrection ? 1 - h.beta1 ** tStep : 1,
    c2: h.biasCorrection ? 1 - h.beta2 ** tStep : 1,
  });

  const updateOf = (path: string, w: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, lrT: tf.Scalar, cs: BiasCorrections) => {
    const nextM = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
    const nextV = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
    const mHat = h.biasCorrection ? tf.div(nextM, cs.c1) : nextM;
    const vHat = h.biasCorrection ? tf.div(nextV, cs.c2) : nextV;
    let update: tf.Tensor = tf.div(mHat, tf.add(tf.sqrt(vHat), h.epsilon));
    if (h.weightDecay > 0 && !h.excludeFromDecay(path)) update = tf.add(update, tf.mul(w, h.weightDecay));
    let scaled: tf.Tensor = tf.mul(update, lrT);
    if (kind === 'lamb' && !h.excludeFromAdaptation(path)) {
      const wNorm = tf.norm(w);
      const uNorm = tf.norm(update);
      const one = tf.onesLike(wNorm);
      const ratio = tf.where(tf.greater(wNorm, 0), tf.where(tf.greater(uNorm, 0), tf.div(wNorm, uNorm), one), one);
      scaled = tf.mul(scaled, ratio);
    }
    return { w: tf.sub(w, scaled), m: nextM, v: nextV };
  };

  const state = (): Record<string, tf.Tensor> => {
    const out: Record<string, tf.Tensor> = {};
    for (const [path, s] of slots) {
      out[`${path}${M_SUFFIX}`] = tf.clone(s.m);
      out[`${path}${V_SUFFIX}`] = tf.clone(s.v);
    }
    out[STEP_KEY] = tf.scalar(t, 'int32');
    return out;
  };

  const loadState = (st: Readonly<Record<string, tf.Tensor>>, params?: Params): E.Either<OptimizerError, void> => {
    const stepT = st[STEP_KEY];
    if (stepT === undefined) return E.left(optimizerError(`optimizer state has no "${STEP_KEY}" entry`));
    if (stepT.size !== 1) return E.left(optimizerError(`optimizer state "${STEP_KEY}" must be a scalar, got shape [${stepT.shape}]`));
    const stepValue = stepT.dataSync()[0] ?? NaN;
    if (!(Number.isInteger(stepValue) && stepValue >= 0))
      return E.left(optimizerError(`optimizer state "${STEP_KEY}" must be a non-negative integer, got ${stepValue}`));
    const ms = new Map<string, tf.Tensor>();
    const vs = new Map<string, tf.Tensor>();
    for (const [key, value] of Object.entries(st)) {
      if (key === STEP_KEY) continue;
      if (key.endsWith(M_SUFFIX)) ms.set(key.slice(0, -M_SUFFIX.length), value);
      else if (key.endsWith(V_SUFFIX)) vs.set(key.slice(0, -V_SUFFIX.length), value);
      else return E.left(optimizerError(`optimizer state has an unexpected entry "${key}" (expected <path>${M_SUFFIX}, <path>${V_SUFFIX} or ${STEP_KEY})`));
    }
    for (const [path, m] of ms) {
      const v = vs.get(path);
      if (v === undefined) return E.left(optimizerError(`optimizer state has "${path}${M_SUFFIX}" but no "${path}${V_SUFFIX}"`));
      if (!sameShape(m.shape, v.shape))
        return E.left(optimizerError(`optimizer state for "${path}": adam_m has shape [${m.shape}] but adam_v has [${v.shape}]`));
      if (m.dtype !== 'float32' || v.dtype !== 'float32')
        return E.left(optimizerError(`optimizer state for "${path}" must be float32, got ${m.dtype}/${v.dtype}`));
      if (params !== undefined) {
        const w = params[path];
        if (w === undefined) return E.left(optimizerError(`optimizer state has moments for "${path}" but the model has no such parameter`));
        if (!sameShape(w.shape, m.shape))
          return E.left(optimizerError(`optimizer state for "${path}" has shape [${m.shape}] but the parameter has [${w.shape}]`));
      }
    }
    for (const path of vs.keys())
      if (!ms.has(path)) return E.left(optimizerError(`optimizer state has "${path}${V_SUFFIX}" but no "${path}${M_SUFFIX}"`));
    const next = new Map<string, Slots>();
    for (const [path, m] of ms) {
      const v = vs.get(path) as tf.Tensor;
      next.set(path, { m: tf.variable(m, false), v: tf.variable(v, false) });
    }
    disposeSlots();
    slots = next;
    t = stepValue;
    return E.right(undefined);
  };

  const disposeSlots = (): void => {
    for (const s of slots.values()) tf.dispose([s.m, s.v]);
    slots = new Map();
  };

  return E.right({
    kind,
    hyper: h,
    step,
    stepCount: () => t,
    slotVariables: () => slots,
    updateOf,
    corrections,
    advance: () => {
      t += 1;
    },
    state,
    loadState,
    dispose: disposeSlots,
  });
};
