/**
 * The pretraining step: ALBERT's objective (MLM + sentence-order, or NSP) on the compiled DSL
 * model, gradient accumulation over micro-batches, global-norm clipping and the optimizer update.
 * Compiled once; the step itself only runs tfjs ops inside `tf.tidy` and returns scalar tensors
 * (read them when you need them — reading is a host sync).
 *
 * @example
 * ```ts
 * const t = unwrap(createPretrainer({ config: tinyConfig(), objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 1 }));
 * const r = t.trainStep([batch], 1e-3);
 * console.log((await r.loss.data())[0]);
 * r.dispose();
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { compile, graphRunner, init, paramSpecs, traceToFunction, callFunction, type CompiledModel, type RawTensor, type TracedFunction } from '@lamina/dsl';
import { albertForPretraining, INPUTS, orderLogitsOutput, OUTPUTS, type AlbertConfig, type Batch } from '@lamina/albert';
import { float32, int32, reduceAcrossWorkers, type Feed, type ParallelContext, type StepMetrics, type TrainStep } from './core/step.js';
import { traceStepFunction, writeBackStep } from './core/graph-step.js';
import { evalSumsEngine, type EvalEngineOptions } from './core/graph-eval.js';
import { mlmObjective, weightedSparseCrossEntropy, type TrainingObjective } from './objectives/index.js';
import { createOptimizer, type Optimizer, type OptimizerHyper, type OptimizerKind } from './optim/optimizer.js';
import { accumulate, clipByGlobalNorm } from './optim/grads.js';
import { deriveSeed } from './rng.js';
import type { GlobalTotals } from './distributed/shard.js';

/** What the model is trained to do besides MLM. */
export type Objective = 'sop' | 'nsp' | 'none';

/** Options of {@link createPretrainer}. */
export interface PretrainerOptions {
  readonly config: AlbertConfig;
  readonly objective: Objective;
  /** `masked`: MLM logits only at masked positions (the original ALBERT); `all`: at every position (Hugging Face). */
  readonly mlmPositions: 'masked' | 'all';
  readonly optimizer: OptimizerKind;
  readonly hyper?: OptimizerHyper;
  /** Global-norm gradient clip (default 1.0; 0 disables). */
  readonly clipNorm?: number;
  /** Seed of parameter initialisation and dropout. */
  readonly seed: number;
  /** Start from these parameters (by lamina path) instead of a fresh init. */
  readonly initialParams?: Readonly<Record<string, RawTensor>>;
  /**
   * `graph`: each step after the first runs as one TensorFlow function (traced once per batch
   * shape; native backend only; a data-parallel step too, its all-reduce a node of the function); `eager` (default): tfjs ops one
   * at a time. A graph that cannot be built falls back to eager, saying so once through `onNotice`.
   */
  readonly engine?: StepEngine;
  /** Ask XLA to compile the graph step (`_XlaMustCompile`). Default false. */
  readonly xla?: boolean;
  /** Where the one-line notices of the graph engine go (default: stderr). */
  readonly onNotice?: (line: string) => void;
}

/**
 * How a training step runs: one TensorFlow function per step, or op by op.
 * @example createPretrainer({ ...opts, engine: 'graph' })
 */
export type StepEngine = 'graph' | 'eager';

/**
 * Data parallelism of one step: the micro-batches given to {@link Pretrainer.trainStep} are this
 * worker's shares of global micro-batches (see `distributed/shard.ts`). Each share's loss is
 * normalised by its global batch's totals and scaled by `workers`, the accumulated gradients and
 * losses travel in one flat vector through `allReduce` (an average over the workers), and the
 * clip and the update then run on the same averaged gradients on every worker.
 *
 * @example
 * ```ts
 * t.trainStep([shareOf(globalBatch, 2, task)], lr, step, { workers: 2, totals: [globalTotals(globalBatch)], allReduce: (v: tf.Tensor1D) => peers.allReduce(v) });
 * ```
 */
export interface ParallelStep {
  /** How many workers the average runs over. */
  readonly workers: number;
  /** The global totals of each micro-batch, in order. */
  readonly totals: readonly GlobalTotals[];
  /** Averages a flat float32 vector over the workers; must return the same value on every worker. */
  readonly allReduce: (flat: tf.Tensor1D) => tf.Tensor1D;
  /** Numbers averaged along with the gradients (e.g. a stop flag); see {@link StepResult.extras}. */
  readonly extras?: readonly number[];
}

/** Results of one step, as tensors the caller reads and disposes (`dispose()`). */
export interface StepResult {
  /** Total loss (MLM + order), averaged over micro-batches. */
  readonly loss: tf.Scalar;
  readonly mlmLoss: tf.Scalar;
  readonly orderLoss: tf.Scalar;
  /** Global gradient norm before clipping. */
  readonly gradNorm: tf.Scalar;
  /** Tokens processed (batch × sequence, over all micro-batches) by this process. */
  readonly tokens: number;
  /** With {@link ParallelStep.extras}: their averages over the workers. */
  readonly extras?: tf.Tensor1D;
  readonly dispose: () => void;
}

/** Held-out metrics of one batch (sums, so they add up over batches). */
export interface EvalSums {
  readonly mlmLossSum: number;
  readonly mlmCorrect: number;
  readonly mlmCount: number;
  readonly orderCorrect: number;
  readonly orderCount: number;
}

/** A pretraining session over one parameter store. */
export interface Pretrainer {
  readonly params: Record<string, tf.Variable>;
  readonly optimizer: Optimizer;
  readonly options: PretrainerOptions;
  /**
   * One optimizer step over the micro-batches (gradient accumulation: gradients are averaged, so
   * k micro-batches of n equal one batch of k·n). `stepIndex` seeds dropout, so a resumed run
   * draws the same masks.
   */
  trainStep(microBatches: readonly Batch[], lr: number, stepIndex?: number, parallel?: ParallelStep): StepResult;
  /** The engine the next step runs on (`graph` may fall back to `eager`, once, with a notice). */
  engine(): StepEngine;
  /** Graph functions traced so far (one per batch shape). */
  tracedFunctions(): number;
  /**
   * The same step as the {@link TrainStep} interface the training loop runs, on feeds made by
   * {@link albertFeed} (it runs on the engine of {@link Pretrainer.trainStep}, graph or eager).
   */
  readonly step: TrainStep;
  /** Eval-mode metrics on a batch (MLM accuracy/loss at masked positions, order accuracy). */
  evaluate(batch: Batch): Promise<EvalSums>;
  /** Frees the parameters and optimizer state. */
  dispose(): void;
}

/** The tensors one (micro-)batch gives a step. */
interface BatchTensors {
  readonly inputs: Record<string, tf.Tensor>;
  readonly labels: tf.Tensor1D;
  readonly weights: tf.Tensor1D;
  readonly orderLabels: tf.Tensor1D;
}

/** Thrown inside a trace when the step cannot be one graph (caught: the run falls back to eager). */
class GraphStepUnsupported extends Error {}

/** A pretraining set-up that cannot be built. */
export interface PretrainerError {
  readonly _tag: 'PretrainerError';
  readonly message: string;
}
const pretrainerError = (message: string): PretrainerError => ({ _tag: 'PretrainerError', message });

/** The model inputs of a batch as int32 tensors. */
export const batchInputs = (b: Batch): Record<string, tf.Tensor> => {
  const [B, S] = b.shapes.inputIds;
  const [, P] = b.shapes.maskedLm;
  return {
    input_ids: tf.tensor2d(b.inputIds, [B, S], 'int32'),
    token_type_ids: tf.tensor2d(b.tokenTypeIds, [B, S], 'int32'),
    attention_mask: tf.tensor2d(b.attentionMask, [B, S], 'int32'),
    masked_lm_positions: tf.tensor2d(b.maskedLmPositions, [B, P], 'int32'),
  };
};

/**
 * Labels/weights for MLM at every position (`[B, S]`), from the masked positions (the rest weight 0).
 */
const denseLabels = (b: Batch): { ids: Int32Array; weights: Float32Array } => {
  const [B, S] = b.shapes.inputIds;
  const [, P] = b.shapes.maskedLm;
  const ids = new Int32Array(B * S);
  const weights = new Float32Array(B * S);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < P; j++) {
      if (!b.maskedLmWeights[i * P + j]) continue;
      const pos = b.maskedLmPositions[i * P + j] as number;
      ids[i * S + pos] = b.maskedLmIds[i * P + j] as number;
      weights[i * S + pos] = 1;
    }
  return { ids, weights };
};

export { weightedSparseCrossEntropy } from './objectives/index.js';

/**
 * Builds a pretrainer: the pretraining model (only the outputs the loss needs are computed),
 * parameters (fresh, seeded, or `initialParams`), and the optimizer.
 */
export const createPretrainer = (opts: PretrainerOptions): E.Either<PretrainerError, Pretrainer> => {
  const model = albertForPretraining(opts.config, { objective: opts.objective, mlmPositions: opts.mlmPositions });
  const orderKey = opts.objective === 'none' ? undefined : `${opts.objective}_logits`;
  const outputs = ['prediction_logits', ...(orderKey ? [orderKey] : [])];
  // the 'all' model reads no masked_lm_positions, which batchInputs always carries
  const fwd = compile(model, { input: 'input_ids', outputs, ignoreInputs: ['masked_lm_positions'] });
  if (E.isLeft(fwd)) return E.left(pretrainerError(`${fwd.left.path}: ${fwd.left.message}`));
  const evalFwd = compile(albertForPretraining(opts.config, { objective: opts.objective, mlmPositions: 'masked' }), { input: 'input_ids', outputs });
  if (E.isLeft(evalFwd)) return E.left(pretrainerError(evalFwd.left.message));
  const paramsR = init(model, opts.seed);
  if (E.isLeft(paramsR)) return E.left(pretrainerError(paramsR.left.message));
  const params = paramsR.right as Record<string, tf.Variable>;
  if (opts.initialParams) {
    const problems: string[] = [];
    for (const k of Object.keys(opts.initialParams)) if (!(k in params)) problems.push(`unexpected ${k}`);
    for (const [k, v] of Object.entries(params)) {
      const raw = opts.initialParams[k];
      if (!raw) problems.push(`missing ${k}`);
      else if (raw.shape.join(',') !== v.shape.join(',')) problems.unshift(`${k} has shape [${raw.shape.join(', ')}], expected [${v.shape.join(', ')}]`);
      else v.assign(tf.tensor(raw.data, raw.shape as number[], 'float32'));
    }
    if (problems.length) {
      Object.values(params).forEach((v) => v.dispose());
      return E.left(pretrainerError(`initial parameters do not fit the model: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`));
    }
  }
  const optimizer = createOptimizer(opts.optimizer, opts.hyper);
  if (E.isLeft(optimizer)) return E.left(pretrainerError(optimizer.left.message));
  const names = Object.keys(params);
  const vars = names.map((k) => params[k] as tf.Variable);
  const clip = opts.clipNorm ?? 1.0;
  const V = opts.config.vocabSize;

  // Dropout on the native backend uses TensorFlow's stateless random op, seeded by a tensor, in
  // both engines: the masks are a pure function of (seed, step, micro-batch), so a graph step
  // draws the same masks as the eager one and a resumed run the same as an uninterrupted one.
  const stateless = tf.getBackend() === 'tensorflow' || tf.getBackend() === 'tensorflow-gpu';
  const seedTensorOf = (seed: number): tf.Tensor => tf.tensor1d([seed | 0, 0], 'int32');

  /** The tensors a step reads from a batch: model inputs and targets. */
  const batchTensors = (b: Batch, dense: boolean): BatchTensors => {
    const inputs = batchInputs(b);
    let labels: tf.Tensor1D;
    let weights: tf.Tensor1D;
    if (dense) {
      const d = denseLabels(b);
      labels = tf.tensor1d(d.ids, 'int32');
      weights = tf.tensor1d(d.weights, 'float32');
    } else {
      labels = tf.tensor1d(b.maskedLmIds, 'int32');
      weights = tf.tensor1d(Float32Array.from(b.maskedLmWeights), 'float32');
    }
    return { inputs, labels, weights, orderLabels: tf.tensor1d(b.sentenceOrderLabel, 'int32') };
  };

  const lossesOf = (forward: CompiledModel, t: BatchTensors, training: boolean, seed: number | tf.Tensor, ps: Record<string, tf.Tensor>, share?: { totals: GlobalTotals | { readonly mlmWeight: tf.Scalar; readonly rows: tf.Scalar }; workers: number }) => {
    const run = typeof seed === 'number' ? { training, seed } : { training, seedTensor: seed };
    const out = forward(ps, t.inputs, run) as Record<string, tf.Tensor>;
    const logits = out.prediction_logits as tf.Tensor;
    const B = (t.inputs.input_ids as tf.Tensor).shape[0] as number;
    const logits2d = tf.reshape(logits, [-1, V]) as tf.Tensor2D;
    const mlm = weightedSparseCrossEntropy(logits2d, t.labels, t.weights, share && { total: share.totals.mlmWeight, scale: share.workers });
    let order: tf.Scalar = tf.scalar(0);
    const orderLogits = orderKey ? out[orderKey] : undefined;
    if (orderLogits)
      order = weightedSparseCrossEntropy(orderLogits as tf.Tensor2D, t.orderLabels, tf.ones([B]) as tf.Tensor1D, share && { total: share.totals.rows, scale: share.workers });
    return { mlm, order, logits2d, labels: t.labels, weights: t.weights, orderLogits };
  };
  const losses = (forward: CompiledModel, b: Batch, training: boolean, seed: number, ps: Record<string, tf.Tensor>, share?: { totals: GlobalTotals; workers: number }) =>
    lossesOf(forward, batchTensors(b, opts.mlmPositions === 'all' && forward === fwd.right), training, stateless && training ? seedTensorOf(seed) : seed, ps, share);

  const trainStep = (microBatches: readonly Batch[], lr: number, stepIndex = optimizer.right.stepCount(), parallel?: ParallelStep): StepResult => {
    if (microBatches.length === 0) throw new Error('trainStep needs at least one micro-batch');
    if (parallel && parallel.totals.length !== microBatches.length) throw new Error(`trainStep: ${parallel.totals.length} global totals for ${microBatches.length} micro-batches`);
    const k = microBatches.length;
    const result = tf.tidy(() => {
      let gradSum: Record<string, tf.Tensor> | undefined;
      let mlmSum: tf.Scalar = tf.scalar(0);
      let orderSum: tf.Scalar = tf.scalar(0);
      microBatches.forEach((b, i) => {
        const seed = deriveSeed(opts.seed, 'dropout', stepIndex, i);
        // the loss components leave the gradient scope as kept tensors, disposed right below
        let parts: tf.Scalar[] = [];
        const { value, grads } = tf.variableGrads(() => {
          const ps = Object.fromEntries(names.map((n, j) => [n, vars[j] as tf.Tensor]));
          const share = parallel && { totals: parallel.totals[i] as GlobalTotals, workers: parallel.workers };
          const l = losses(fwd.right, b, true, seed, ps, share);
          parts = [tf.keep(l.mlm), tf.keep(l.order)];
          return tf.add(l.mlm, l.order) as tf.Scalar;
        }, vars);
        value.dispose();
        mlmSum = tf.add(mlmSum, parts[0] as tf.Scalar);
        orderSum = tf.add(orderSum, parts[1] as tf.Scalar);
        parts.forEach((t) => t.dispose());
        const byPath: Record<string, tf.Tensor> = {};
        for (const [j, n] of names.entries()) {
          const g = grads[(vars[j] as tf.Variable).name];
          if (g) byPath[n] = g;
        }
        gradSum = accumulate(gradSum, byPath);
      });
      let extras: tf.Tensor1D | undefined;
      if (parallel) {
        const r = reduceAcross(parallel, gradSum as Record<string, tf.Tensor>, mlmSum, orderSum);
        gradSum = r.grads;
        mlmSum = r.mlm;
        orderSum = r.order;
        extras = r.extras;
      }
      const avg = k === 1 ? (gradSum as Record<string, tf.Tensor>) : Object.fromEntries(Object.entries(gradSum as Record<string, tf.Tensor>).map(([n, g]) => [n, tf.div(g, k)]));
      const { grads, norm } = clip > 0 ? clipByGlobalNorm(avg, clip) : { grads: avg, norm: tf.scalar(0) };
      optimizer.right.step(params, grads, lr);
      const mlmLoss = tf.div(mlmSum, k) as tf.Scalar;
      const orderLoss = tf.div(orderSum, k) as tf.Scalar;
      return { loss: tf.add(mlmLoss, orderLoss) as tf.Scalar, mlmLoss, orderLoss, gradNorm: norm as tf.Scalar, ...(extras ? { extras } : {}) };
    });
    const tokens = microBatches.reduce((a, b) => a + b.shapes.inputIds[0] * b.shapes.inputIds[1], 0);
    return { ...result, tokens, dispose: () => [result.loss, result.mlmLoss, result.orderLoss, result.gradNorm, ...(result.extras ? [result.extras] : [])].forEach((t) => t.dispose()) };
  };

  /** One flat vector [every gradient in parameter order, mlm, order, extras…] through `allReduce` (the engines' shared {@link reduceAcrossWorkers}). */
  const reduceAcross = (p: Pick<ParallelStep, 'allReduce' | 'extras'>, grads: Record<string, tf.Tensor>, mlm: tf.Scalar, order: tf.Scalar, extrasT?: tf.Tensor1D) => {
    const extra = p.extras ?? [];
    const r = reduceAcrossWorkers(p.allReduce, names.map((n, j) => [n, (vars[j] as tf.Variable).shape]), grads, [mlm, order], extrasT ?? tf.tensor1d(extra.length ? [...extra] : [0], 'float32'));
    return { grads: r.grads, mlm: r.scalars[0] as tf.Scalar, order: r.scalars[1] as tf.Scalar, extras: r.extras };
  };

  // ---- the graph engine: the same step as a pure function of tensors, traced once per shape ----
  let engine: StepEngine = opts.engine ?? 'eager';
  const notice = opts.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (engine === 'graph' && !stateless) {
    notice(`graph step: needs the native TensorFlow backend (active: ${tf.getBackend()}); running eager`);
    engine = 'eager';
  }
  const traced = new Map<string, TracedFunction>();

  /**
   * Flat arguments: parameters, slots m, slots v (of `slotted` paths), lr, c1, c2, then per
   * micro-batch its tensors and its dropout seed. Results: new parameters and slots of `slotted`,
   * then loss, mlm, order, grad norm.
   */
  const stepArgs = (microBatches: readonly Batch[], lr: number, stepIndex: number, slotted: readonly string[], parallel?: ParallelStep): tf.Tensor[] => {
    const slots = optimizer.right.slotVariables();
    const c = optimizer.right.corrections(optimizer.right.stepCount() + 1);
    const args: tf.Tensor[] = [...vars, ...slotted.map((p) => slots.get(p)!.m), ...slotted.map((p) => slots.get(p)!.v), tf.scalar(lr), tf.scalar(c.c1), tf.scalar(c.c2)];
    microBatches.forEach((b, i) => {
      const t = batchTensors(b, opts.mlmPositions === 'all');
      args.push(t.inputs.input_ids!, t.inputs.token_type_ids!, t.inputs.attention_mask!, t.inputs.masked_lm_positions!, t.labels, t.weights, t.orderLabels);
      args.push(seedTensorOf(deriveSeed(opts.seed, 'dropout', stepIndex, i)));
      // data parallel: the global batch's totals change every step, so they are arguments too
      const g = parallel?.totals[i];
      if (g) args.push(tf.tensor1d([g.mlmWeight, g.rows], 'float32'));
    });
    if (parallel) args.push(tf.tensor1d(parallel.extras?.length ? [...parallel.extras] : [0], 'float32'));
    return args;
  };

  /**
   * With `parallel` (data parallelism), each micro-batch also takes its global totals, and the
   * gradients, loss parts and extras are averaged across the workers by `allReduce` inside the
   * traced function: its CollectiveReduceV2 is a node of the graph (group size, group key,
   * instance key and timeout are constants, the same on every worker, which trace at the same step).
   */
  const pureStep = (k: number, slotted: readonly string[], parallel?: Pick<ParallelStep, 'allReduce' | 'workers'>) => (flat: tf.Tensor[]): tf.Tensor[] => {
    const n = names.length;
    const s = slotted.length;
    const ps = flat.slice(0, n);
    const ms = flat.slice(n, n + s);
    const vs = flat.slice(n + s, n + 2 * s);
    const [lrT, c1, c2] = flat.slice(n + 2 * s, n + 2 * s + 3) as [tf.Scalar, tf.Scalar, tf.Scalar];
    const per = parallel ? 9 : 8;
    const base = n + 2 * s + 3;
    let gradSum: Record<string, tf.Tensor> | undefined;
    let mlmSum: tf.Scalar = tf.scalar(0);
    let orderSum: tf.Scalar = tf.scalar(0);
    for (let i = 0; i < k; i++) {
      const [ids, types, mask, positions, labels, weights, orderLabels, seedT, totalsT] = flat.slice(base + i * per, base + (i + 1) * per) as tf.Tensor[];
      const share = parallel && totalsT ? { totals: { mlmWeight: tf.reshape(tf.slice(totalsT, [0], [1]), []) as tf.Scalar, rows: tf.reshape(tf.slice(totalsT, [1], [1]), []) as tf.Scalar }, workers: parallel.workers } : undefined;
      const t: BatchTensors = { inputs: { input_ids: ids!, token_type_ids: types!, attention_mask: mask!, masked_lm_positions: positions! }, labels: labels as tf.Tensor1D, weights: weights as tf.Tensor1D, orderLabels: orderLabels as tf.Tensor1D };
      let parts: tf.Scalar[] = [];
      const { value, grads } = tf.engine().gradients(
        () => {
          const byName = Object.fromEntries(names.map((nm, j) => [nm, ps[j] as tf.Tensor]));
          const l = lossesOf(fwd.right, t, true, seedT!, byName, share);
          parts = [tf.keep(l.mlm), tf.keep(l.order)];
          return tf.add(l.mlm, l.order) as tf.Scalar;
        },
        ps,
        undefined,
        true,
      );
      value.dispose();
      mlmSum = tf.add(mlmSum, parts[0] as tf.Scalar);
      orderSum = tf.add(orderSum, parts[1] as tf.Scalar);
      const byPath: Record<string, tf.Tensor> = {};
      names.forEach((nm, j) => {
        const g = grads[j];
        if (g) byPath[nm] = g;
      });
      gradSum = accumulate(gradSum, byPath);
    }
    let extrasOut: tf.Tensor[] = [];
    if (parallel) {
      const r = reduceAcross(parallel, gradSum as Record<string, tf.Tensor>, mlmSum, orderSum, flat[base + k * per] as tf.Tensor1D);
      gradSum = r.grads;
      mlmSum = r.mlm;
      orderSum = r.order;
      extrasOut = [r.extras];
    }
    const avg = k === 1 ? (gradSum as Record<string, tf.Tensor>) : Object.fromEntries(Object.entries(gradSum as Record<string, tf.Tensor>).map(([nm, g]) => [nm, tf.div(g, k)]));
    const { grads, norm } = clip > 0 ? clipByGlobalNorm(avg, clip) : { grads: avg, norm: tf.scalar(0) };
    const missing = Object.keys(grads).filter((p) => !slotted.includes(p));
    if (missing.length) throw new GraphStepUnsupported(`${missing.length} parameter(s) have gradients but no optimizer state yet (${missing[0]})`);
    const nextW: tf.Tensor[] = [];
    const nextM: tf.Tensor[] = [];
    const nextV: tf.Tensor[] = [];
    slotted.forEach((p, j) => {
      const w = ps[names.indexOf(p)] as tf.Tensor;
      const g = grads[p];
      if (!g) {
        // no gradient this step: unchanged, as the eager optimizer leaves it
        nextW.push(w);
        nextM.push(ms[j] as tf.Tensor);
        nextV.push(vs[j] as tf.Tensor);
        return;
      }
      const u = optimizer.right.updateOf(p, w, g, ms[j] as tf.Tensor, vs[j] as tf.Tensor, lrT, { c1, c2 });
      nextW.push(u.w);
      nextM.push(u.m);
      nextV.push(u.v);
    });
    const mlmLoss = tf.div(mlmSum, k) as tf.Scalar;
    const orderLoss = tf.div(orderSum, k) as tf.Scalar;
    return [...nextW, ...nextM, ...nextV, tf.add(mlmLoss, orderLoss), mlmLoss, orderLoss, norm, ...extrasOut];
  };

  const graphStep = (microBatches: readonly Batch[], lr: number, stepIndex: number, parallel?: ParallelStep): StepResult | undefined => {
    const slots = optimizer.right.slotVariables();
    // the first step runs eagerly: it creates the optimizer state of exactly the parameters that get gradients
    if (slots.size === 0) return undefined;
    const slotted = names.filter((p) => slots.has(p));
    const k = microBatches.length;
    const key = JSON.stringify([slotted.length, microBatches.map((b) => [b.shapes.inputIds, b.shapes.maskedLm]), parallel ? [parallel.workers, parallel.extras?.length ?? 0] : 0]);
    const tokens = microBatches.reduce((a, b) => a + b.shapes.inputIds[0] * b.shapes.inputIds[1], 0);
    let fn = traced.get(key);
    let outs: tf.Tensor[];
    const args = stepArgs(microBatches, lr, stepIndex, slotted, parallel);
    const owned = args.slice(names.length + 2 * slotted.length);
    try {
      if (!fn) {
        let r: ReturnType<typeof traceToFunction>;
        try {
          r = traceStepFunction('lamina_pretrain_step', pureStep(k, slotted, parallel), args);
        } catch (e) {
          if (e instanceof GraphStepUnsupported) r = E.left({ _tag: 'TraceError', message: e.message });
          else throw e;
        }
        if (E.isLeft(r)) {
          notice(`graph step: cannot compile this step to one graph (${r.left.message}); running eager`);
          engine = 'eager';
          return undefined;
        }
        fn = r.right;
        traced.set(key, fn);
      }
      const called = callFunction(fn.name, args, fn.numOutputs, { xla: opts.xla ?? false });
      if (E.isLeft(called)) throw new Error(`graph step failed: ${called.left.message}`);
      outs = called.right;
    } finally {
      tf.dispose(owned);
    }
    const rest = writeBackStep(params, slots, slotted, outs);
    optimizer.right.advance();
    const [loss, mlmLoss, orderLoss, gradNorm, extras] = rest;
    const kept = [loss!, mlmLoss!, orderLoss!, gradNorm!, ...(extras ? [extras] : [])];
    return { loss: loss as tf.Scalar, mlmLoss: mlmLoss as tf.Scalar, orderLoss: orderLoss as tf.Scalar, gradNorm: gradNorm as tf.Scalar, ...(extras ? { extras: extras as tf.Tensor1D } : {}), tokens, dispose: () => tf.dispose(kept) };
  };

  const step = (microBatches: readonly Batch[], lr: number, stepIndex = optimizer.right.stepCount(), parallel?: ParallelStep): StepResult => {
    // a data-parallel step's all-reduce is a node of the traced function (see pureStep)
    if (engine === 'graph' && microBatches.length > 0) {
      const r = graphStep(microBatches, lr, stepIndex, parallel);
      if (r) return r;
    }
    return trainStep(microBatches, lr, stepIndex, parallel);
  };

  // eval on the step's engine: forward and sums as one function of (parameters, batch tensors) per batch shape
  const evalRunner = graphRunner('lamina_pretrain_eval', { engine, onNotice: notice });
  const evaluate = async (b: Batch): Promise<EvalSums> => {
    const t = tf.tidy(() => {
      const bt = batchTensors(b, false);
      const inNames = Object.keys(bt.inputs).sort();
      const pure = (flat: tf.Tensor[]): tf.Tensor[] => {
        const ps = Object.fromEntries(names.map((n, j) => [n, flat[j] as tf.Tensor]));
        const at = names.length + inNames.length;
        const [labels, weights, orderLabels] = flat.slice(at) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const l = lossesOf(evalFwd.right, { inputs: Object.fromEntries(inNames.map((k, i) => [k, flat[names.length + i] as tf.Tensor])), labels, weights, orderLabels }, false, 0, ps);
        const pred = tf.argMax(l.logits2d, -1);
        const correct = tf.sum(tf.mul(tf.cast(tf.equal(pred, l.labels), 'float32'), l.weights));
        const count = tf.sum(l.weights);
        const orderCorrect = l.orderLogits ? tf.sum(tf.cast(tf.equal(tf.argMax(l.orderLogits, -1), orderLabels), 'float32')) : tf.scalar(0);
        return [tf.stack([tf.mul(l.mlm, tf.add(count, 1e-5)), correct, count, orderCorrect])];
      };
      const args = [...vars, ...inNames.map((k) => bt.inputs[k] as tf.Tensor), bt.labels, bt.weights, bt.orderLabels];
      return evalRunner.run(JSON.stringify([names, inNames]), pure, args)[0] as tf.Tensor;
    });
    const [lossSum, correct, count, orderCorrect] = Array.from(await t.data());
    t.dispose();
    return {
      mlmLossSum: lossSum as number,
      mlmCorrect: correct as number,
      mlmCount: count as number,
      orderCorrect: orderCorrect as number,
      orderCount: orderKey ? b.shapes.inputIds[0] : 0,
    };
  };

  // The loop's step interface over the same engine: feeds come from albertFeed, which remembers
  // the batch each was made from; the parallel context maps back to this step's ParallelStep.
  const loopStep: TrainStep = (_state, micro, ctx): StepMetrics => {
    const batches = micro.map((f) => {
      const b = feedBatches.get(f);
      if (!b) throw new Error('Pretrainer.step takes feeds made by albertFeed');
      return b;
    });
    const p = ctx.parallel;
    const r = step(batches, ctx.lr, ctx.step, p && { workers: p.workers, totals: p.totals.map((t) => ({ mlmWeight: t.mlmWeight as number, rows: t.rows as number })), allReduce: p.allReduce, ...(p.extras ? { extras: p.extras } : {}) });
    return {
      loss: r.loss,
      parts: { mlm_loss: r.mlmLoss, ...(orderKey ? { order_loss: r.orderLoss } : {}) },
      gradNorm: r.gradNorm,
      tokens: r.tokens,
      ...(r.extras ? { extras: r.extras } : {}),
      dispose: r.dispose,
    };
  };

  return E.right({
    params,
    optimizer: optimizer.right,
    options: opts,
    trainStep: step,
    step: loopStep,
    engine: () => engine,
    tracedFunctions: () => traced.size,
    evaluate,
    dispose: () => {
      Object.values(params).forEach((v) => v.dispose());
      optimizer.right.dispose();
    },
  });
};

/** The batch each {@link albertFeed} was made from (the pretrainer's step runs on batches). */
const feedBatches = new WeakMap<Feed, Batch>();

/**
 * A pretraining batch as a {@link Feed} of the `mlm` objective: the model inputs (by the names
 * `@lamina/albert` exports) and the MLM (+ sentence-order) targets. With `mlmPositions: 'all'` the
 * labels are dense `[B·S]` (weight 0 off the masked positions), else `[B·P]`.
 * @example const feed = albertFeed(batch, { mlmPositions: 'masked', order: true });
 */
export const albertFeed = (b: Batch, o: { readonly mlmPositions: 'masked' | 'all'; readonly order: boolean }): Feed => {
  const [B, S] = b.shapes.inputIds;
  const [, P] = b.shapes.maskedLm;
  const d = o.mlmPositions === 'all' ? denseLabels(b) : undefined;
  const f: Feed = {
    inputs: {
      [INPUTS.ids]: int32([B, S], b.inputIds),
      [INPUTS.tokenTypes]: int32([B, S], b.tokenTypeIds),
      [INPUTS.mask]: int32([B, S], b.attentionMask),
      [INPUTS.maskedPositions]: int32([B, P], b.maskedLmPositions),
    },
    targets: {
      mlm_labels: d ? int32([B * S], d.ids) : int32([B * P], b.maskedLmIds),
      mlm_weights: d ? float32([B * S], d.weights) : float32([B * P], b.maskedLmWeights),
      ...(o.order ? { order_labels: int32([B], b.sentenceOrderLabel) } : {}),
    },
    tokens: B * S,
  };
  feedBatches.set(f, b);
  return f;
};

/**
 * The `mlm` objective of an ALBERT/BERT pretraining model with the given sentence-level head.
 * @example albertMlmObjective('sop').outputs // { logits: 'prediction_logits', order: 'sop_logits' }
 */
export const albertMlmObjective = (objective: Objective): TrainingObjective =>
  mlmObjective({ logits: OUTPUTS.mlmLogits, ...(objective === 'none' ? {} : { order: orderLogitsOutput(objective) }) });

/**
 * Starts parameters from `initial` (by path): every path must be present with the model's shape.
 * Returns the problem, or undefined when all were assigned.
 * @example const bad = loadInitial(params, ck.weights);
 */
export const loadInitial = (params: Record<string, tf.Variable>, initial: Readonly<Record<string, RawTensor>>): string | undefined => {
  const problems: string[] = [];
  for (const k of Object.keys(initial)) if (!(k in params)) problems.push(`unexpected ${k}`);
  for (const [k, v] of Object.entries(params)) {
    const raw = initial[k];
    if (!raw) problems.push(`missing ${k}`);
    else if (raw.shape.join(',') !== v.shape.join(',')) problems.unshift(`${k} has shape [${raw.shape.join(', ')}], expected [${v.shape.join(', ')}]`);
    else v.assign(tf.tensor(raw.data, raw.shape as number[], 'float32'));
  }
  return problems.length ? `initial parameters do not fit the model: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}` : undefined;
};

/**
 * The step interface's {@link ParallelContext} of a {@link ParallelStep} (the MLM objective's
 * totals are the global batch's masked-LM weight and rows).
 * @example parallelContext({ workers: 2, totals: [globalTotals(b)], allReduce })
 */
export const parallelContext = (p: ParallelStep): ParallelContext => ({
  workers: p.workers,
  totals: p.totals.map((t) => ({ mlmWeight: t.mlmWeight, rows: t.rows })),
  allReduce: p.allReduce,
  ...(p.extras ? { extras: p.extras } : {}),
});

/**
 * An evaluation-only view of a pretraining model: the eval-mode forward pass (MLM logits at the
 * masked positions) and the {@link albertMlmObjective}'s sums, on given parameters. No optimizer,
 * no variables: `lamina eval` uses this. `options.engine` (default `eager`) chooses the path:
 * `graph` traces forward and sums into one TensorFlow function per batch shape (see
 * `evalSumsEngine`), with the one-line fallback notice through `options.onNotice`.
 * @example
 * ```ts
 * const ev = unwrap(createMlmEvaluator(config, 'sop', ck.weights, { engine: 'graph' }));
 * const sums = await ev.evaluate(batch); ev.dispose();
 * ```
 */
export const createMlmEvaluator = (
  config: AlbertConfig,
  objective: Objective,
  weights: Readonly<Record<string, RawTensor>>,
  options: EvalEngineOptions & { readonly engine?: StepEngine } = {},
): E.Either<PretrainerError, Pick<Pretrainer, 'evaluate' | 'dispose'> & { readonly engine: () => StepEngine }> => {
  const obj = albertMlmObjective(objective);
  const outputs = Object.values(obj.outputs).filter((o): o is string => o !== null);
  const fwd = compile(albertForPretraining(config, { objective, mlmPositions: 'masked' }), { input: INPUTS.ids, outputs });
  if (E.isLeft(fwd)) return E.left(pretrainerError(`${fwd.left.path}: ${fwd.left.message}`));
  const specs = paramSpecs(albertForPretraining(config, { objective, mlmPositions: 'masked' }));
  if (E.isLeft(specs)) return E.left(pretrainerError(specs.left.message));
  const problems: string[] = [];
  for (const s of specs.right) {
    const w = weights[s.path];
    if (!w) problems.push(`missing ${s.path}`);
    else if (w.shape.join(',') !== s.shape.join(',')) problems.push(`${s.path} has shape [${w.shape.join(', ')}], expected [${s.shape.join(', ')}]`);
  }
  if (problems.length) return E.left(pretrainerError(`the parameters do not fit the model: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`));
  const params = Object.fromEntries(specs.right.map((s) => [s.path, tf.tensor((weights[s.path] as RawTensor).data, [...s.shape], 'float32')]));
  const order = objective !== 'none';
  const sums = evalSumsEngine(options.engine ?? 'eager', fwd.right, obj, options);
  return E.right({
    engine: sums.engine,
    evaluate: async (b: Batch): Promise<EvalSums> => {
      const [lossSum, correct, count, orderCorrect, orderCount] = await sums(params, albertFeed(b, { mlmPositions: 'masked', order }));
      return { mlmLossSum: lossSum as number, mlmCorrect: correct as number, mlmCount: count as number, orderCorrect: orderCorrect as number, orderCount: orderCount as number };
    },
    dispose: () => Object.values(params).forEach((t) => t.dispose()),
  });
};
