/**
 * Pretraining: ALBERT's (or BERT's) pretraining model compiled from its DSL value, its parameters
 * and optimizer, and its step. The step is the training core's ({@link stepOfEngine} in
 * `core/graph-step.ts`: accumulation, data-parallel all-reduce, global-norm clip, the update, on
 * the eager or the graph engine) run with the `mlm` objective and its sentence-level head
 * ({@link albertMlmObjective}); this module only turns pretraining batches into feeds
 * ({@link albertFeed}) and the step's metrics into a {@link StepResult}. It returns scalar tensors
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
import { compile, init, paramSpecs, type RawTensor } from '@lamina/dsl';
import { albertForPretraining, INPUTS, orderLogitsOutput, OUTPUTS, type AlbertConfig, type Batch } from '@lamina/albert';
import { float32, int32, type Feed, type ParallelContext, type TrainState, type TrainStep } from './core/step.js';
import { stepOfEngine, type EngineStep, type StepEngine, type UpdatePlacement } from './core/graph-step.js';
import { evalSumsEngine, type EvalEngineOptions, type EvalSumsFn } from './core/graph-eval.js';
import { mlmObjective, type TrainingObjective } from './objectives/index.js';
import { createOptimizer, type Optimizer, type OptimizerHyper, type OptimizerKind } from './optim/optimizer.js';
import type { GlobalTotals } from './distributed/shard.js';

export type { StepEngine } from './core/graph-step.js';

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
  /** Where the graph step's optimizer update runs (`UpdatePlacement`, default `auto`: per parameter for large models). */
  readonly update?: UpdatePlacement;
  /** Where the one-line notices of the graph engine go (default: stderr). */
  readonly onNotice?: (line: string) => void;
}

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
   * {@link albertFeed} (the training core's step that {@link Pretrainer.trainStep} runs, on its engine).
   */
  readonly step: EngineStep;
  /** Eval-mode metrics on a batch (MLM accuracy/loss at masked positions, order accuracy). */
  evaluate(batch: Batch): Promise<EvalSums>;
  /** Frees the parameters and optimizer state. */
  dispose(): void;
}

/** A pretraining set-up that cannot be built. */
export interface PretrainerError {
  readonly _tag: 'PretrainerError';
  readonly message: string;
}
const pretrainerError = (message: string): PretrainerError => ({ _tag: 'PretrainerError', message });

/**
 * The model inputs of a batch as int32 tensors (call inside a tidy).
 * @example const inputs = batchInputs(batch); // { input_ids, token_type_ids, attention_mask, masked_lm_positions }
 */
export const batchInputs = (b: Batch): Record<string, tf.Tensor> => {
  const [B, S] = b.shapes.inputIds;
  const [, P] = b.shapes.maskedLm;
  return {
    [INPUTS.ids]: tf.tensor2d(b.inputIds, [B, S], 'int32'),
    [INPUTS.tokenTypes]: tf.tensor2d(b.tokenTypeIds, [B, S], 'int32'),
    [INPUTS.mask]: tf.tensor2d(b.attentionMask, [B, S], 'int32'),
    [INPUTS.maskedPositions]: tf.tensor2d(b.maskedLmPositions, [B, P], 'int32'),
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

/** The {@link EvalSums} of one batch from the `mlm` objective's eval sums. */
const evalSumsOfBatch = async (sums: EvalSumsFn, params: Readonly<Record<string, tf.Tensor>>, b: Batch, order: boolean): Promise<EvalSums> => {
  const [lossSum, correct, count, orderCorrect, orderCount] = await sums(params, albertFeed(b, { mlmPositions: 'masked', order }));
  return { mlmLossSum: lossSum as number, mlmCorrect: correct as number, mlmCount: count as number, orderCorrect: orderCorrect as number, orderCount: orderCount as number };
};

/**
 * Builds a pretrainer: the pretraining model (only the outputs the loss needs are computed),
 * parameters (fresh, seeded, or `initialParams`), the optimizer, and the training core's step
 * ({@link stepOfEngine} of {@link albertMlmObjective} on the compiled model) on the chosen engine.
 * @example const t = unwrap(createPretrainer({ config: tinyConfig(), objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 1, engine: 'graph' }));
 */
export const createPretrainer = (opts: PretrainerOptions): E.Either<PretrainerError, Pretrainer> => {
  const objective = albertMlmObjective(opts.objective);
  const order = opts.objective !== 'none';
  const outputs = Object.values(objective.outputs).filter((o): o is string => o !== null);
  const model = albertForPretraining(opts.config, { objective: opts.objective, mlmPositions: opts.mlmPositions });
  // the 'all' model reads no masked_lm_positions, which albertFeed always carries
  const fwd = compile(model, { input: INPUTS.ids, outputs, ignoreInputs: [INPUTS.maskedPositions] });
  if (E.isLeft(fwd)) return E.left(pretrainerError(`${fwd.left.path}: ${fwd.left.message}`));
  const evalFwd = compile(albertForPretraining(opts.config, { objective: opts.objective, mlmPositions: 'masked' }), { input: INPUTS.ids, outputs });
  if (E.isLeft(evalFwd)) return E.left(pretrainerError(evalFwd.left.message));
  const paramsR = init(model, opts.seed);
  if (E.isLeft(paramsR)) return E.left(pretrainerError(paramsR.left.message));
  const params = paramsR.right as Record<string, tf.Variable>;
  if (opts.initialParams) {
    const problem = loadInitial(params, opts.initialParams);
    if (problem) {
      Object.values(params).forEach((v) => v.dispose());
      return E.left(pretrainerError(problem));
    }
  }
  const optimizer = createOptimizer(opts.optimizer, opts.hyper);
  if (E.isLeft(optimizer)) return E.left(pretrainerError(optimizer.left.message));
  const state: TrainState = { params, optimizer: optimizer.right };
  const notice = opts.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  // The one training core: forward, backward, accumulation, (data-parallel all-reduce), clip, the
  // update and the NaN-safe metrics, eager or traced into one TensorFlow function per batch shape.
  // Dropout is TensorFlow's stateless op on the native backend in both engines, seeded by
  // (seed, step, micro-batch), so graph and eager agree and a resumed run draws the same masks.
  const core = stepOfEngine(opts.engine ?? 'eager', { forward: fwd.right, objective, clipNorm: opts.clipNorm ?? 1.0, seed: opts.seed, xla: opts.xla ?? false, ...(opts.update ? { update: opts.update } : {}), onNotice: notice });

  const trainStep = (microBatches: readonly Batch[], lr: number, stepIndex = optimizer.right.stepCount(), parallel?: ParallelStep): StepResult => {
    if (microBatches.length === 0) throw new Error('trainStep needs at least one micro-batch');
    if (parallel && parallel.totals.length !== microBatches.length) throw new Error(`trainStep: ${parallel.totals.length} global totals for ${microBatches.length} micro-batches`);
    const feeds = microBatches.map((b) => albertFeed(b, { mlmPositions: opts.mlmPositions, order }));
    const m = core(state, feeds, { lr, step: stepIndex, ...(parallel ? { parallel: parallelContext(parallel) } : {}) });
    const orderLoss = m.parts.order_loss ?? tf.scalar(0);
    return {
      loss: m.loss,
      mlmLoss: m.parts.mlm_loss as tf.Scalar,
      orderLoss,
      gradNorm: m.gradNorm,
      tokens: m.tokens,
      ...(m.extras ? { extras: m.extras } : {}),
      dispose: () => {
        m.dispose();
        if (!order) orderLoss.dispose();
      },
    };
  };

  // held-out evaluation on the step's engine (after its fallback, if any): the eval-mode forward
  // (MLM logits at the masked positions) and the objective's sums, as `lamina eval` computes them
  const sums = evalSumsEngine(core.engine(), evalFwd.right, objective, { onNotice: notice });

  return E.right({
    params,
    optimizer: optimizer.right,
    options: opts,
    trainStep,
    step: core,
    engine: core.engine,
    tracedFunctions: core.tracedFunctions,
    evaluate: (b: Batch) => evalSumsOfBatch(sums, params, b, order),
    dispose: () => {
      Object.values(params).forEach((v) => v.dispose());
      optimizer.right.dispose();
    },
  });
};

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
  return {
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
  const sums = evalSumsEngine(options.engine ?? 'eager', fwd.right, obj, options);
  return E.right({
    engine: sums.engine,
    evaluate: (b: Batch) => evalSumsOfBatch(sums, params, b, objective !== 'none'),
    dispose: () => Object.values(params).forEach((t) => t.dispose()),
  });
};
