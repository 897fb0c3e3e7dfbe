/**
 * The training step as an interface, and its eager implementation.
 *
 * A step is a function from (parameters, optimizer state, micro-batches) to (new state, metrics).
 * Parameters and optimizer state live in a {@link TrainState}; an engine updates them (tfjs
 * variables are the state, so "new state" is the same variables after the call) and returns the
 * step's metrics as scalar tensors. Batches are host data ({@link Feed}: typed arrays with
 * shapes), so an engine decides itself when and how they become tensors — the eager engine here
 * makes them inside its `tf.tidy`, a graph engine feeds them to one compiled TensorFlow function.
 * Everything task-specific comes from an {@link TrainingObjective}; everything model-specific from the
 * compiled model.
 *
 * @example
 * ```ts
 * const step = eagerStep({ forward, objective: clmObjective(), clipNorm: 1, seed: 7 });
 * const m = step(state, [feed], { lr: 1e-3, step: 0 });
 * const { loss, grad_norm } = await readStepMetrics(m); // host numbers, one sync
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import type { CompiledModel } from '@lamina/dsl';
import type { Optimizer } from '../optim/optimizer.js';
import { accumulate, clipByGlobalNorm } from '../optim/grads.js';
import { deriveSeed } from '../rng.js';
import type { TrainingObjective } from '../objectives/index.js';

/**
 * A host-side tensor of a batch.
 * @example { dtype: 'int32', shape: [2, 3], data: Int32Array.from([1, 2, 3, 4, 5, 6]) }
 */
export interface HostTensor {
  readonly dtype: 'int32' | 'float32';
  readonly shape: readonly number[];
  readonly data: Int32Array | Float32Array;
}

/**
 * An int32 {@link HostTensor}.
 * @example int32([2, 3], ids)
 */
export const int32 = (shape: readonly number[], data: ArrayLike<number>): HostTensor => ({ dtype: 'int32', shape, data: data instanceof Int32Array ? data : Int32Array.from(data) });
/**
 * A float32 {@link HostTensor}.
 * @example float32([4], weights)
 */
export const float32 = (shape: readonly number[], data: ArrayLike<number>): HostTensor => ({ dtype: 'float32', shape, data: data instanceof Float32Array ? data : Float32Array.from(data) });

/**
 * One (micro-)batch: the model's inputs by name and the objective's targets by name.
 * @example { inputs: { input_ids: int32([B, S], ids) }, targets: { labels: int32([B, S], next), weights: float32([B, S], w) }, tokens: B * S }
 */
export interface Feed {
  readonly inputs: Readonly<Record<string, HostTensor>>;
  readonly targets: Readonly<Record<string, HostTensor>>;
  /** Tokens in this batch (for tokens/s). */
  readonly tokens: number;
}

/**
 * Makes tfjs tensors of host tensors (call inside a tidy).
 * @example const t = toTensors(feed.inputs);
 */
export const toTensors = (xs: Readonly<Record<string, HostTensor>>): Record<string, tf.Tensor> =>
  Object.fromEntries(Object.entries(xs).map(([k, h]) => [k, tf.tensor(h.data, [...h.shape], h.dtype)]));

/**
 * What a step reads and updates: parameters by path and the optimizer (with its state).
 * @example const state: TrainState = { params, optimizer };
 */
export interface TrainState {
  readonly params: Record<string, tf.Variable>;
  readonly optimizer: Optimizer;
}

/**
 * Per-step inputs besides the batch: the learning rate and the step index (seeds dropout, so a
 * resumed run draws the same masks).
 * @example { lr: 1e-3, step: 41 }
 */
export interface StepContext {
  readonly lr: number;
  readonly step: number;
  /** Data parallelism: the micro-batches are this worker's shares of global ones. */
  readonly parallel?: ParallelContext;
}

/**
 * How a step runs as one of several data-parallel workers: each worker's loss is normalised by the
 * global batch's totals, and gradients, loss parts and `extras` are averaged over the workers in
 * one `allReduce` of a flat vector before the clip and the update (so every worker applies the
 * same update).
 * @example { workers: 2, totals: [objective.globalTotals(globalFeed)], allReduce: (v) => group.allReduce(v), extras: [stop ? 1 : 0] }
 */
export interface ParallelContext {
  readonly workers: number;
  /** The global totals of each micro-batch, in order ({@link TrainingObjective.globalTotals}). */
  readonly totals: readonly Readonly<Record<string, number>>[];
  /** Averages a flat float32 vector over the workers; must return the same value on every worker. */
  readonly allReduce: (flat: tf.Tensor1D) => tf.Tensor1D;
  /** Numbers averaged along with the gradients (e.g. a stop flag); see {@link StepMetrics.extras}. */
  readonly extras?: readonly number[];
}

/**
 * What a step returns: scalar tensors the caller reads (one host sync) and disposes.
 * @example const m = step(state, micro, ctx); console.log((await m.loss.data())[0]); m.dispose();
 */
export interface StepMetrics {
  /** The loss, averaged over micro-batches. */
  readonly loss: tf.Scalar;
  /** The objective's loss parts (e.g. `mlm_loss`, `order_loss`), averaged over micro-batches. */
  readonly parts: Readonly<Record<string, tf.Scalar>>;
  /** Global gradient norm before clipping (0 when clipping is off). */
  readonly gradNorm: tf.Scalar;
  /** Tokens processed (over all micro-batches). */
  readonly tokens: number;
  /** With {@link ParallelContext.extras}: their averages over the workers. */
  readonly extras?: tf.Tensor1D;
  readonly dispose: () => void;
}

/**
 * The step interface: a function from (state, micro-batches, context) to metrics, updating the
 * state. Gradients are averaged over the micro-batches (k micro-batches of n = one batch of k·n),
 * clipped to a global norm, and applied by the state's optimizer.
 * @example const m: StepMetrics = step(state, [feed], { lr, step: i });
 */
export type TrainStep = (state: TrainState, micro: readonly Feed[], ctx: StepContext) => StepMetrics;

/**
 * Reads a step's metrics to the host in one sync: `loss`, the parts, `grad_norm`.
 * @example const v = await readStepMetrics(m); v.loss;
 */
export const readStepMetrics = async (m: StepMetrics): Promise<Record<string, number>> => {
  const names = ['loss', ...Object.keys(m.parts), 'grad_norm'];
  const all = tf.stack([m.loss, ...Object.values(m.parts), m.gradNorm]);
  const data = await all.data();
  all.dispose();
  return Object.fromEntries(names.map((n, i) => [n, data[i] as number]));
};

/**
 * How the eager step seeds dropout for micro-batch `micro` of `count` at step `step`.
 * @example dropoutSeedPerMicroBatch(7)(10, 0, 1)
 */
export type DropoutSeed = (step: number, micro: number, count: number) => number;
/**
 * The default dropout seed: one per (seed, step, micro-batch).
 * @example dropoutSeedPerMicroBatch(7)(10, 0, 1) === deriveSeed(7, 'dropout', 10, 0)
 */
export const dropoutSeedPerMicroBatch =
  (seed: number): DropoutSeed =>
  (step, micro) =>
    deriveSeed(seed, 'dropout', step, micro);

/**
 * The data-parallel reduction both step engines share (eager and graph, for every trainer): the
 * gradients (in parameter order; a parameter without one contributes zeros), some scalars (loss
 * parts) and an extras vector, packed into one flat float32 vector, averaged over the workers by
 * `allReduce` (which splits only vectors larger than its pack size), and split back. Inside a
 * traced step the all-reduce is a node of the function (its group and instance keys and timeout
 * are constants of the trace, the same on every worker, which all trace at the same step).
 * @example
 * ```ts
 * // one worker: the identity average; in a group, `(v) => group.allReduce(v)`
 * const r = reduceAcrossWorkers((v) => v, [['w', [2, 3]]], { w: tf.ones([2, 3]) }, [tf.scalar(1.5)], tf.tensor1d([0]));
 * r.grads.w; r.scalars[0]; r.extras;
 * ```
 */
export const reduceAcrossWorkers = (
  allReduce: (flat: tf.Tensor1D) => tf.Tensor1D,
  params: readonly (readonly [string, readonly number[]])[],
  grads: Readonly<Record<string, tf.Tensor>>,
  scalars: readonly tf.Scalar[],
  extras: tf.Tensor1D,
): { grads: Record<string, tf.Tensor>; scalars: tf.Scalar[]; extras: tf.Tensor1D } => {
  const sizes = params.map(([, shape]) => shape.reduce((a, d) => a * d, 1));
  const pieces = params.map(([n], j) => (grads[n] ? tf.reshape(grads[n] as tf.Tensor, [-1]) : tf.zeros([sizes[j] as number])));
  const flat = tf.concat([...pieces, ...scalars.map((x) => tf.reshape(x, [1])), extras]) as tf.Tensor1D;
  const split = tf.split(allReduce(flat), [...sizes, ...scalars.map(() => 1), extras.size]);
  return {
    grads: Object.fromEntries(params.map(([n, shape], j) => [n, tf.reshape(split[j] as tf.Tensor, [...shape])])),
    scalars: scalars.map((_, j) => tf.reshape(split[params.length + j] as tf.Tensor, []) as tf.Scalar),
    extras: split[params.length + scalars.length] as tf.Tensor1D,
  };
};

/**
 * What {@link eagerStep} needs: the compiled model, the objective, the clip norm.
 * @example { forward, objective: clmObjective(), clipNorm: 1, seed: 7 }
 */
export interface EagerStepSpec {
  readonly forward: CompiledModel;
  readonly objective: TrainingObjective;
  /** Global-norm clip (0 disables). */
  readonly clipNorm: number;
  /** Seeds dropout (default {@link dropoutSeedPerMicroBatch} of `seed`). */
  readonly seed: number;
  readonly dropoutSeed?: DropoutSeed;
}

/**
 * Selects the objective's outputs (by role) from a model's outputs.
 * @example outputsByRole(clmObjective(), logits) // { logits }
 */
export const outputsByRole = (objective: TrainingObjective, out: tf.Tensor | Readonly<Record<string, tf.Tensor>>): Record<string, tf.Tensor> => {
  const r: Record<string, tf.Tensor> = {};
  for (const [role, ref] of Object.entries(objective.outputs)) {
    if (ref === null) {
      if (!(out instanceof tf.Tensor)) throw new Error(`the model has named outputs {${Object.keys(out).join(', ')}}, the objective wants its one output as "${role}"`);
      r[role] = out;
    } else {
      const t = out instanceof tf.Tensor ? undefined : out[ref];
      if (t === undefined) throw new Error(`the model has no output "${ref}" (the objective's "${role}")`);
      r[role] = t;
    }
  }
  return r;
};

/**
 * The eager engine of {@link TrainStep}: tfjs ops one at a time, inside one `tf.tidy` per step;
 * the returned metrics are the only tensors that outlive it.
 * @example const step = eagerStep({ forward, objective, clipNorm: 1, seed: 1 });
 */
export const eagerStep = (spec: EagerStepSpec): TrainStep => {
  const seedOf = spec.dropoutSeed ?? dropoutSeedPerMicroBatch(spec.seed);
  const { objective, forward } = spec;
  const stateless = tf.getBackend() === 'tensorflow' || tf.getBackend() === 'tensorflow-gpu';
  return (state, micro, ctx) => {
    if (micro.length === 0) throw new Error('a training step needs at least one micro-batch');
    const k = micro.length;
    const names = Object.keys(state.params);
    const vars = names.map((n) => state.params[n] as tf.Variable);
    const result = tf.tidy(() => {
      let gradSum: Record<string, tf.Tensor> | undefined;
      let totalSum: tf.Scalar = tf.scalar(0);
      let partSums: Record<string, tf.Scalar> | undefined;
      micro.forEach((feed, i) => {
        const seed = seedOf(ctx.step, i, k);
        // the loss parts leave the gradient scope as kept tensors, disposed right below
        let parts: Record<string, tf.Scalar> = {};
        const { value, grads } = tf.variableGrads(() => {
          const ps = Object.fromEntries(names.map((n, j) => [n, vars[j] as tf.Tensor]));
          // native backend: TensorFlow's stateless dropout seeded by a tensor, as the graph engine draws it
          const out = forward(ps, toTensors(feed.inputs), stateless ? { training: true, seedTensor: tf.tensor1d([seed | 0, 0], 'int32') } : { training: true, seed });
          const par = ctx.parallel;
          const l = objective.loss(outputsByRole(objective, out), toTensors(feed.targets), par && { totals: par.totals[i] ?? {}, scale: par.workers });
          parts = Object.fromEntries(Object.entries(l.parts).map(([n, p]) => [n, tf.keep(p)]));
          return l.total;
        }, vars);
        totalSum = tf.add(totalSum, value);
        const ps = partSums ?? Object.fromEntries(Object.keys(parts).map((n) => [n, tf.scalar(0)]));
        partSums = Object.fromEntries(Object.entries(ps).map(([n, s]) => [n, tf.add(s, parts[n] as tf.Scalar) as tf.Scalar]));
        Object.values(parts).forEach((t) => t.dispose());
        value.dispose();
        const byPath: Record<string, tf.Tensor> = {};
        for (const [j, n] of names.entries()) {
          const g = grads[(vars[j] as tf.Variable).name];
          if (g) byPath[n] = g;
        }
        gradSum = accumulate(gradSum, byPath);
      });
      let sum = gradSum as Record<string, tf.Tensor>;
      let extras: tf.Tensor1D | undefined;
      if (ctx.parallel) {
        // one flat vector [every gradient in parameter order, loss parts, total, extras…] through allReduce
        const partNames = Object.keys(partSums ?? {});
        const extra = ctx.parallel.extras ?? [];
        const r = reduceAcrossWorkers(
          ctx.parallel.allReduce,
          names.map((n, j) => [n, (vars[j] as tf.Variable).shape]),
          sum,
          [...partNames.map((n) => (partSums as Record<string, tf.Scalar>)[n] as tf.Scalar), totalSum],
          tf.tensor1d(extra.length ? [...extra] : [0], 'float32'),
        );
        sum = r.grads;
        partSums = Object.fromEntries(partNames.map((n, j) => [n, r.scalars[j] as tf.Scalar]));
        totalSum = r.scalars[partNames.length] as tf.Scalar;
        extras = r.extras;
      }
      const avg = k === 1 ? sum : Object.fromEntries(Object.entries(sum).map(([n, g]) => [n, tf.div(g, k)]));
      const { grads, norm } = spec.clipNorm > 0 ? clipByGlobalNorm(avg, spec.clipNorm) : { grads: avg, norm: tf.scalar(0) };
      state.optimizer.step(state.params, grads, ctx.lr);
      const parts = Object.fromEntries(Object.entries(partSums ?? {}).map(([n, s]) => [n, tf.div(s, k) as tf.Scalar]));
      // with parts, the loss is their sum (as ALBERT's reference reports it); else the mean total
      const pv = Object.values(parts);
      const loss = pv.length ? pv.slice(1).reduce((a, p) => tf.add(a, p) as tf.Scalar, pv[0] as tf.Scalar) : (tf.div(totalSum, k) as tf.Scalar);
      return { loss, parts, gradNorm: norm as tf.Scalar, ...(extras ? { extras } : {}) };
    });
    const tokens = micro.reduce((a, f) => a + f.tokens, 0);
    return { ...result, tokens, dispose: () => tf.dispose([result.loss, result.gradNorm, ...Object.values(result.parts), ...(result.extras ? [result.extras] : [])]) };
  };
};

/**
 * Eval-mode sums of the objective over a batch, read to the host, op by op (the graph path's
 * twin, one traced function per batch shape, is `evalSumsEngine` in `core/graph-eval.ts`).
 * @example const sums = await evalSumsOf(forward, objective, params, feed);
 */
export const evalSumsOf = async (forward: CompiledModel, objective: TrainingObjective, params: Readonly<Record<string, tf.Tensor>>, feed: Feed): Promise<number[]> => {
  const t = tf.tidy(() => objective.evalSums(outputsByRole(objective, forward(params, toTensors(feed.inputs), { training: false })), toTensors(feed.targets)));
  const data = Array.from(await t.data());
  t.dispose();
  return data;
};

/**
 * Adds eval sums elementwise (over batches).
 * @example addSums([[1, 2], [3, 4]]) // [4, 6]
 */
export const addSums = (xs: readonly (readonly number[])[]): number[] => (xs[0] ?? []).map((_, i) => xs.reduce((a, s) => a + (s[i] ?? 0), 0));
