/**
 * The graph engine of the {@link TrainStep} interface: the whole step — forward, backward over
 * every micro-batch, the average, the global-norm clip, the optimizer update and the new optimizer
 * state — traced once per input shape into one TensorFlow function (`traceToFunction` of
 * `@lamina/dsl`) and called as a single op. It computes what {@link eagerStep} computes, for any
 * compiled model, {@link TrainingObjective} and optimizer (AdamW or LAMB, bias-corrected or not):
 * the same loss, loss parts and gradient norm, and the same new parameters up to float rounding
 * (Grappler may reorder or fuse ops). A model past {@link PER_PARAMETER_UPDATE_FROM} parameter
 * elements (bert-large) gets its update per parameter after the function instead
 * ({@link UpdatePlacement}): the function stops at the clipped gradients, so old and new weights
 * never coexist. After each trace the step gives the freed pages back to the system
 * (`trimNativeMemory`).
 *
 * When it runs eager instead, and says so in one line through `onNotice` (once):
 * - the backend is not native TensorFlow (no graph functions);
 * - the trace fails (a host read inside the model, a large captured tensor, TensorFlow rejects
 *   the graph): from then on every step runs eager.
 * Silently, per step (these are not failures), when the update runs in the function: the first
 * step of a fresh optimizer (it creates the moments of exactly the parameters that get gradients),
 * and a step whose parameters gained gradients the optimizer has no moments for yet.
 *
 * A data-parallel step (a {@link ParallelContext} in the step's context) is one function too: the
 * global batch's totals and the extras are arguments, and the gradients, loss parts and extras are
 * averaged over the workers by {@link reduceAcrossWorkers} inside the function, whose
 * `CollectiveReduceV2` (packed, same group and instance keys on every worker, with the timeout) is
 * a node of the graph. Its time cannot be taken apart from the step's, so the group's
 * `allReduceSeconds` does not grow during such a step (the loop probes it instead).
 *
 * This is the only place where a training step becomes one graph: `lamina pretrain` (through
 * `createPretrainer`, with the `mlm` objective and its SOP/NSP head, LAMB or AdamW), `lamina
 * finetune` and `lamina train` all run {@link stepOfEngine}; what differs between them (objective,
 * optimizer, dropout seeds, the data-parallel context) is an input of the step.
 *
 * @example
 * ```ts
 * const step = graphStep({ forward, objective: clmObjective(), clipNorm: 1, seed: 7 });
 * const m = step(state, [feed], { lr: 1e-3, step: 0 });
 * const v = await readStepMetrics(m); m.dispose();
 * step.engine(); // 'graph'
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { callFunction, traceToFunction, trimNativeMemory, type TracedFunction } from '@lamina/dsl';
import { accumulate, clipByGlobalNorm } from '../optim/grads.js';
import type { Optimizer } from '../optim/optimizer.js';
import { dropoutSeedPerMicroBatch, eagerStep, outputsByRole, reduceAcrossWorkers, type EagerStepSpec, type Feed, type HostTensor, type ParallelContext, type StepMetrics, type TrainStep } from './step.js';

/**
 * How a training step runs: one TensorFlow function per step, or tfjs ops one at a time.
 * @example const engine: StepEngine = flags.eager ? 'eager' : 'graph';
 */
export type StepEngine = 'graph' | 'eager';

/**
 * What {@link graphStep} needs: an {@link EagerStepSpec} plus XLA and where notices go.
 * @example { forward, objective: taskObjective('classify', 2), clipNorm: 1, seed: 3, xla: false, onNotice: (l) => progress.log(l) }
 */
export interface GraphStepSpec extends EagerStepSpec {
  /** Ask XLA to compile the step function (`_XlaMustCompile`). Default false. */
  readonly xla?: boolean;
  /**
   * Where the optimizer update runs (see {@link UpdatePlacement}). Default `auto`: in the function
   * below {@link PER_PARAMETER_UPDATE_FROM} parameter elements, per parameter from there on.
   */
  readonly update?: UpdatePlacement;
  /** Where the one-line fallback notice goes (default: stderr). */
  readonly onNotice?: (line: string) => void;
}

/**
 * Where a graph step's optimizer update runs.
 * - `in-graph`: inside the step's function, which returns the new weights and moments. Fastest on
 *   small models, but the old and the new weights and moments all exist while the function runs:
 *   three times the parameters' size on top of what the step needs.
 * - `per-parameter`: the function stops at the clipped gradients; the optimizer then updates one
 *   parameter at a time, freeing each old weight and moment as its new one is made, as PyTorch's
 *   in-place update needs no second copy (a few tfjs ops per parameter).
 * - `auto`: `per-parameter` from {@link PER_PARAMETER_UPDATE_FROM} parameter elements on.
 * @example const update: UpdatePlacement = 'auto';
 */
export type UpdatePlacement = 'auto' | 'in-graph' | 'per-parameter';

/**
 * Parameter elements from which `auto` runs the update per parameter (bert-large has 335M; the
 * demo model 0.8M; albert-base 12M; bert-base 110M).
 * @example PER_PARAMETER_UPDATE_FROM // 200_000_000
 */
export const PER_PARAMETER_UPDATE_FROM = 200_000_000;

/**
 * Whether a model of `elements` parameter elements gets its update per parameter.
 * @example updatesPerParameter('auto', 335e6) // true
 */
export const updatesPerParameter = (placement: UpdatePlacement, elements: number): boolean =>
  placement === 'per-parameter' || (placement === 'auto' && elements >= PER_PARAMETER_UPDATE_FROM);

/**
 * A {@link TrainStep} that also says which engine its next step runs on.
 * @example const s: EngineStep = graphStep(spec); s.engine(); // 'graph' | 'eager'
 */
export type EngineStep = TrainStep & {
  /** `eager` after a fallback (or when built eager), else `graph`. */
  readonly engine: () => StepEngine;
  /** Step functions traced so far (one per input shape and set of optimizer moments). */
  readonly tracedFunctions: () => number;
};

/**
 * Whether the active tfjs backend is native TensorFlow (graph functions, stateless dropout).
 * @example if (!nativeBackendActive()) console.log('eager only');
 */
export const nativeBackendActive = (): boolean => tf.getBackend() === 'tensorflow' || tf.getBackend() === 'tensorflow-gpu';

/** What a per-parameter step function returns first: the gradients of these parameters, set when it is traced. */
interface PerParamOutputs {
  gradNames: string[];
}

/** Thrown inside a trace when the step cannot be one graph (caught: the step runs eager). */
class NotTraceable extends Error {}

const dtypeShape = (xs: Readonly<Record<string, HostTensor>>): string => Object.keys(xs).sort().map((k) => `${k}:${xs[k]!.dtype}[${xs[k]!.shape.join(',')}]`).join(';');

/**
 * The optimizer update of the parameters in `slotted` as a pure function of tensors (the new
 * weights, first and second moments, in `slotted` order): what `Optimizer.step` assigns, for
 * use inside a traced function. A slotted parameter without a gradient is returned unchanged, as
 * the eager optimizer leaves it; a gradient of a parameter that has no moments throws.
 * @example const u = pureUpdate(opt, ['w'], { w }, { w: g }, [m], [v], lr, { c1, c2 });
 */
export const pureUpdate = (
  optimizer: Optimizer,
  slotted: readonly string[],
  params: Readonly<Record<string, tf.Tensor>>,
  grads: Readonly<Record<string, tf.Tensor>>,
  ms: readonly tf.Tensor[],
  vs: readonly tf.Tensor[],
  lr: tf.Scalar,
  corrections: { readonly c1: tf.Scalar; readonly c2: tf.Scalar },
): { w: tf.Tensor[]; m: tf.Tensor[]; v: tf.Tensor[] } => {
  const missing = Object.keys(grads).filter((p) => !slotted.includes(p));
  if (missing.length) throw new NotTraceable(`${missing.length} parameter(s) have gradients but no optimizer state yet (${missing[0]})`);
  const out = { w: [] as tf.Tensor[], m: [] as tf.Tensor[], v: [] as tf.Tensor[] };
  slotted.forEach((p, j) => {
    const w = params[p] as tf.Tensor;
    const g = grads[p];
    // one tidy per parameter, as the eager optimizer: while tracing, the update runs eagerly, and a
    // large model's temporaries (several times its size) would otherwise all live to the end
    const u = g ? tf.tidy(() => optimizer.updateOf(p, w, g, ms[j] as tf.Tensor, vs[j] as tf.Tensor, lr, corrections)) : { w, m: ms[j] as tf.Tensor, v: vs[j] as tf.Tensor };
    out.w.push(u.w);
    out.m.push(u.m);
    out.v.push(u.v);
  });
  return out;
};

/**
 * Traces `pure` on `args` into a registered TensorFlow function, keeping nothing of the tracing
 * run: its eager results are disposed, so the step that traced takes the function's results like
 * every later one (a resumed run's first step then computes the same way as an uninterrupted
 * run's). Errors thrown by `pure` propagate; a trace that cannot become a graph is a Left.
 * @example const fn = traceStepFunction('lamina_train_step', (xs) => [tf.add(xs[0]!, xs[1]!)], [a, b]);
 */
const traceStepFunction = (name: string, pure: (xs: tf.Tensor[]) => tf.Tensor[], args: tf.Tensor[]): ReturnType<typeof traceToFunction> => {
  const r = tf.tidy(() => {
    const x = traceToFunction(name, pure, args);
    if (E.isRight(x)) x.right.outputs.forEach((o) => tf.keep(o));
    return x as never;
  }) as ReturnType<typeof traceToFunction>;
  if (E.isRight(r)) tf.dispose(r.right.outputs);
  return r;
};

/**
 * Writes a step function's first `3·slotted.length` results (new weights, first and second
 * moments of each slotted parameter, in that order) into the variables, disposes them and returns
 * the rest of the results (the step's metrics).
 * @example const [loss, gradNorm] = writeBackStep(params, optimizer.slotVariables(), slotted, outs);
 */
const writeBackStep = (
  params: Readonly<Record<string, tf.Tensor>>,
  slots: ReadonlyMap<string, { readonly m: tf.Variable; readonly v: tf.Variable }>,
  slotted: readonly string[],
  outs: readonly tf.Tensor[],
): tf.Tensor[] => {
  const s = slotted.length;
  slotted.forEach((p, j) => {
    (params[p] as tf.Variable).assign(outs[j] as tf.Tensor);
    slots.get(p)!.m.assign(outs[s + j] as tf.Tensor);
    slots.get(p)!.v.assign(outs[2 * s + j] as tf.Tensor);
  });
  tf.dispose(outs.slice(0, 3 * s));
  return outs.slice(3 * s);
};

/**
 * The graph engine of {@link TrainStep} (see the module documentation). On a backend without graph
 * functions it is {@link eagerStep}, after one notice line.
 * @example const step = graphStep({ forward, objective, clipNorm: 1, seed: 1, xla: false });
 */
export const graphStep = (spec: GraphStepSpec): EngineStep => {
  const notice = spec.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const eager = eagerStep(spec);
  const seedOf = spec.dropoutSeed ?? dropoutSeedPerMicroBatch(spec.seed);
  const { objective, forward } = spec;
  let engine: StepEngine = 'graph';
  if (!nativeBackendActive()) {
    notice(`graph step: needs the native TensorFlow backend (active: ${tf.getBackend()}); running eager`);
    engine = 'eager';
  }
  const traced = new Map<string, TracedFunction>();
  const gradOutputs = new Map<string, PerParamOutputs>();
  let partNames: string[] | undefined;
  let perParamSaid = false;

  /**
   * The step over flat tensors: [params…, m…, v…, lr, c1, c2, per micro: inputs…, targets…, seed
   * (, its global totals in `totalKeys` order), (extras)]; results [w…, m…, v…, loss, norm,
   * parts… (, extras)]. `parallel` (data parallelism) adds the totals and extras and the all-reduce.
   * With `perParam` there are no moments among the arguments, and the results start with the
   * clipped gradients of the parameters that have one (their names set in `perParam.gradNames`).
   */
  const pure =
    (names: readonly string[], shapes: readonly (readonly number[])[], slotted: readonly string[], micro: readonly Feed[], optimizer: Optimizer, perParam: PerParamOutputs | undefined, parallel?: { readonly workers: number; readonly totalKeys: readonly (readonly string[])[]; readonly allReduce: ParallelContext['allReduce'] }) =>
    (flat: tf.Tensor[]): tf.Tensor[] => {
      const n = names.length;
      // per-parameter update: no moments and no update in the function
      const s = perParam ? 0 : slotted.length;
      const ps = flat.slice(0, n);
      const byName = Object.fromEntries(names.map((nm, j) => [nm, ps[j] as tf.Tensor]));
      const ms = flat.slice(n, n + s);
      const vs = flat.slice(n + s, n + 2 * s);
      const [lr, c1, c2] = flat.slice(n + 2 * s, n + 2 * s + 3) as [tf.Scalar, tf.Scalar, tf.Scalar];
      let at = n + 2 * s + 3;
      const k = micro.length;
      let gradSum: Record<string, tf.Tensor> | undefined;
      let totalSum: tf.Scalar = tf.scalar(0);
      let partSums: Record<string, tf.Scalar> | undefined;
      for (const [i, feed] of micro.entries()) {
        const inputs: Record<string, tf.Tensor> = {};
        for (const key of Object.keys(feed.inputs).sort()) inputs[key] = flat[at++] as tf.Tensor;
        const targets: Record<string, tf.Tensor> = {};
        for (const key of Object.keys(feed.targets).sort()) targets[key] = flat[at++] as tf.Tensor;
        const seedTensor = flat[at++] as tf.Tensor;
        // data parallel: this share's loss is normalised by the global batch's totals (an argument: they change every step)
        const keys = parallel?.totalKeys[i] ?? [];
        const totalsT = parallel ? (flat[at++] as tf.Tensor1D) : undefined;
        const share = parallel && totalsT ? { totals: Object.fromEntries(keys.map((nm, j) => [nm, tf.reshape(tf.slice(totalsT, [j], [1]), []) as tf.Scalar])), scale: parallel.workers } : undefined;
        let parts: Record<string, tf.Scalar> = {};
        const { value, grads } = tf.engine().gradients(
          () => {
            const out = forward(byName, inputs, { training: true, seedTensor });
            const l = objective.loss(outputsByRole(objective, out), targets, share);
            parts = Object.fromEntries(Object.entries(l.parts).map(([nm, p]) => [nm, tf.keep(p)]));
            return l.total;
          },
          ps,
          undefined,
          true,
        );
        totalSum = tf.add(totalSum, value);
        const acc = partSums ?? Object.fromEntries(Object.keys(parts).map((nm) => [nm, tf.scalar(0)]));
        partSums = Object.fromEntries(Object.entries(acc).map(([nm, sum]) => [nm, tf.add(sum, parts[nm] as tf.Scalar) as tf.Scalar]));
        const byPath: Record<string, tf.Tensor> = {};
        names.forEach((nm, j) => {
          const g = grads[j];
          if (g) byPath[nm] = g;
        });
        gradSum = accumulate(gradSum, byPath);
      }
      let sum = gradSum as Record<string, tf.Tensor>;
      let extrasOut: tf.Tensor[] = [];
      if (parallel) {
        const order = Object.keys(partSums ?? {});
        const r = reduceAcrossWorkers(parallel.allReduce, names.map((nm, j) => [nm, shapes[j] as readonly number[]]), sum, [...order.map((nm) => (partSums as Record<string, tf.Scalar>)[nm] as tf.Scalar), totalSum], flat[at] as tf.Tensor1D);
        sum = r.grads;
        partSums = Object.fromEntries(order.map((nm, j) => [nm, r.scalars[j] as tf.Scalar]));
        totalSum = r.scalars[order.length] as tf.Scalar;
        extrasOut = [r.extras];
      }
      const avg = k === 1 ? sum : Object.fromEntries(Object.entries(sum).map(([nm, g]) => [nm, tf.div(g, k)]));
      const { grads, norm } = spec.clipNorm > 0 ? clipByGlobalNorm(avg, spec.clipNorm) : { grads: avg, norm: tf.scalar(0) };
      partNames = Object.keys(partSums ?? {});
      const parts = partNames.map((nm) => tf.div((partSums as Record<string, tf.Scalar>)[nm] as tf.Scalar, k) as tf.Scalar);
      const loss = parts.length ? parts.slice(1).reduce((a, p) => tf.add(a, p) as tf.Scalar, parts[0] as tf.Scalar) : (tf.div(totalSum, k) as tf.Scalar);
      if (perParam) {
        // the clipped gradients, in `names` order, of the parameters that have one
        perParam.gradNames = names.filter((nm) => grads[nm] !== undefined);
        return [...perParam.gradNames.map((nm) => grads[nm] as tf.Tensor), loss, norm, ...parts, ...extrasOut];
      }
      const u = pureUpdate(optimizer, slotted, byName, grads, ms, vs, lr, { c1, c2 });
      return [...u.w, ...u.m, ...u.v, loss, norm, ...parts, ...extrasOut];
    };

  const step: TrainStep = (state, micro, ctx) => {
    if (engine === 'eager' || micro.length === 0) return eager(state, micro, ctx);
    const optimizer = state.optimizer;
    const slots = optimizer.slotVariables();
    const names = Object.keys(state.params);
    const elements = names.reduce((a, p) => a + (state.params[p] as tf.Tensor).size, 0);
    const perParam = updatesPerParameter(spec.update ?? 'auto', elements);
    if (slots.size === 0 && !perParam) return eager(state, micro, ctx);
    if (perParam && !perParamSaid) {
      perParamSaid = true;
      notice(`graph step: ${elements.toLocaleString('en-US')} parameters: the optimizer update runs per parameter after the step's function, so old and new weights never coexist`);
    }
    const slotted = perParam ? [] : names.filter((p) => slots.has(p));
    const par = ctx.parallel;
    if (par && par.totals.length !== micro.length) throw new Error(`graph step: ${par.totals.length} global totals for ${micro.length} micro-batches`);
    const totalKeys = par ? par.totals.map((t) => Object.keys(t).sort()) : [];
    const extras = par ? (par.extras?.length ? [...par.extras] : [0]) : [];
    const key = JSON.stringify([names.length, perParam, slotted, micro.map((f) => [dtypeShape(f.inputs), dtypeShape(f.targets)]), par ? [par.workers, totalKeys, extras.length] : 0]);
    const c = optimizer.corrections(optimizer.stepCount() + 1);
    const state0: tf.Tensor[] = [...names.map((p) => state.params[p] as tf.Tensor), ...slotted.map((p) => slots.get(p)!.m), ...slotted.map((p) => slots.get(p)!.v)];
    const owned: tf.Tensor[] = [tf.scalar(ctx.lr), tf.scalar(c.c1), tf.scalar(c.c2)];
    micro.forEach((f, i) => {
      for (const k of Object.keys(f.inputs).sort()) owned.push(tf.tensor(f.inputs[k]!.data, [...f.inputs[k]!.shape], f.inputs[k]!.dtype));
      for (const k of Object.keys(f.targets).sort()) owned.push(tf.tensor(f.targets[k]!.data, [...f.targets[k]!.shape], f.targets[k]!.dtype));
      owned.push(tf.tensor1d([seedOf(ctx.step, i, micro.length) | 0, 0], 'int32'));
      if (par) owned.push(tf.tensor1d(totalKeys[i]!.map((nm) => par.totals[i]![nm] as number), 'float32'));
    });
    if (par) owned.push(tf.tensor1d(extras, 'float32'));
    const args = [...state0, ...owned];
    let outs: tf.Tensor[];
    try {
      let fn = traced.get(key);
      if (!fn) {
        let r: ReturnType<typeof traceToFunction>;
        try {
          const outputs: PerParamOutputs | undefined = perParam ? { gradNames: [] } : undefined;
          r = traceStepFunction('lamina_train_step', pure(names, names.map((p) => state.params[p]!.shape), slotted, micro, optimizer, outputs, par && { workers: par.workers, totalKeys, allReduce: par.allReduce }), args);
          if (outputs) gradOutputs.set(key, outputs);
        } catch (e) {
          if (!(e instanceof NotTraceable)) throw e;
          // new parameters got gradients: the eager step creates their moments, the next step retraces
          return eager(state, micro, ctx);
        }
        if (E.isLeft(r)) {
          notice(`graph step: cannot compile this step to one graph (${r.left.message}); running eager`);
          engine = 'eager';
          return eager(state, micro, ctx);
        }
        fn = r.right;
        traced.set(key, fn);
        // the trace ran the step eagerly through tfjs's tape (every intermediate gradient held to
        // its end) and freed it all: give those pages back, or glibc keeps them resident for good
        trimNativeMemory();
      }
      const called = callFunction(fn.name, args, fn.numOutputs, { xla: spec.xla ?? false });
      if (E.isLeft(called)) throw new Error(`graph step failed: ${called.left.message}`);
      outs = called.right;
    } finally {
      tf.dispose(owned);
    }
    let rest: tf.Tensor[];
    if (perParam) {
      const gradNames = (gradOutputs.get(key) as PerParamOutputs).gradNames;
      const grads = Object.fromEntries(gradNames.map((nm, j) => [nm, outs[j] as tf.Tensor]));
      try {
        // the eager optimizer's own update: one tidy per parameter, each old weight and moment freed as its new one is assigned
        optimizer.step(state.params, grads, ctx.lr);
      } finally {
        tf.dispose(outs.slice(0, gradNames.length));
      }
      rest = outs.slice(gradNames.length);
    } else {
      rest = writeBackStep(state.params, slots, slotted, outs);
      optimizer.advance();
    }
    const [loss, gradNorm, ...after] = rest as tf.Scalar[];
    const partTs = after.slice(0, (partNames ?? []).length);
    const extrasT = par ? (after[partTs.length] as unknown as tf.Tensor1D) : undefined;
    const parts = Object.fromEntries((partNames ?? []).map((nm, j) => [nm, partTs[j] as tf.Scalar]));
    const metrics: StepMetrics = {
      loss: loss!,
      parts,
      gradNorm: gradNorm!,
      tokens: micro.reduce((a, f) => a + f.tokens, 0),
      ...(extrasT ? { extras: extrasT } : {}),
      dispose: () => tf.dispose([loss!, gradNorm!, ...partTs, ...(extrasT ? [extrasT] : [])]),
    };
    return metrics;
  };
  return Object.assign(step, { engine: () => engine, tracedFunctions: () => traced.size });
};

/**
 * The step of an engine choice: {@link graphStep} for `graph`, {@link eagerStep} for `eager`.
 * @example const step = stepOfEngine('graph', spec); step.engine();
 */
export const stepOfEngine = (engine: StepEngine, spec: GraphStepSpec): EngineStep =>
  engine === 'graph' ? graphStep(spec) : Object.assign(eagerStep(spec), { engine: (): StepEngine => 'eager', tracedFunctions: () => 0 });

/**
 * The one line a run prints at start about its step engine.
 * @example engineLine('graph', false) // 'step engine: graph (one TensorFlow function per step; --eager runs op by op)'
 */
export const engineLine = (engine: StepEngine, xla: boolean): string =>
  engine === 'graph' ? `step engine: graph (one TensorFlow function per step${xla ? ', XLA' : ''}; --eager runs op by op)` : 'step engine: eager (tfjs ops one at a time)';
