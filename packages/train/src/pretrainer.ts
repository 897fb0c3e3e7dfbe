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
import { compile, init, type CompiledModel, type RawTensor } from '@lamina/dsl';
import { albertForPretraining, type AlbertConfig, type Batch } from '@lamina/albert';
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
 * t.trainStep([shareOf(global, 2, task)], lr, step, { workers: 2, totals: [globalTotals(global)], allReduce: (v) => group.allReduce(v) });
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

/**
 * Weighted sparse softmax cross-entropy, `Σ w·(-log softmax(logits)[label]) / (Σ w + 1e-5)` as in
 * ALBERT's `get_masked_lm_output`, with a hand-written gradient (softmax − one-hot) so no
 * `[N, V]` one-hot is materialised in the forward pass.
 */
export const weightedSparseCrossEntropy = (
  logits2d: tf.Tensor2D,
  labels: tf.Tensor1D,
  weights: tf.Tensor1D,
  /** Data parallelism: `scale · Σ w·l / (total + 1e-5)`, with the global batch's weight total. */
  normaliser?: { readonly total: number; readonly scale: number },
): tf.Scalar => {
  const V = logits2d.shape[1];
  const perExample = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const logits = x as tf.Tensor2D;
    const lsm = tf.logSoftmax(logits);
    const n = logits.shape[0];
    const flatIdx = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(V, 'int32')), labels);
    const picked = tf.gather(tf.reshape(lsm, [-1]), flatIdx);
    // labels is not an input of this op: save it too, or it is gone by the backward pass
    save([lsm, labels]);
    return {
      value: tf.neg(picked),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [l, y] = saved as [tf.Tensor2D, tf.Tensor1D];
        const onehot = tf.oneHot(y, V, 1, 0, 'float32');
        return tf.mul(tf.sub(tf.exp(l), onehot), tf.expandDims(dy, 1));
      },
    };
  }) as never) as (x: tf.Tensor) => tf.Tensor1D;
  const losses = perExample(logits2d);
  if (normaliser) return tf.div(tf.mul(tf.sum(tf.mul(losses, weights)), normaliser.scale), normaliser.total + 1e-5) as tf.Scalar;
  return tf.div(tf.sum(tf.mul(losses, weights)), tf.add(tf.sum(weights), 1e-5)) as tf.Scalar;
};

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

  const losses = (forward: CompiledModel, b: Batch, training: boolean, seed: number, ps: Record<string, tf.Tensor>, share?: { totals: GlobalTotals; workers: number }) => {
    const inputs = batchInputs(b);
    const out = forward(ps, inputs, { training, seed }) as Record<string, tf.Tensor>;
    const logits = out.prediction_logits as tf.Tensor;
    const [B] = b.shapes.inputIds;
    let labels: tf.Tensor1D;
    let weights: tf.Tensor1D;
    if (opts.mlmPositions === 'all' && forward === fwd.right) {
      const d = denseLabels(b);
      labels = tf.tensor1d(d.ids, 'int32');
      weights = tf.tensor1d(d.weights, 'float32');
    } else {
      labels = tf.tensor1d(b.maskedLmIds, 'int32');
      weights = tf.cast(tf.tensor1d(b.maskedLmWeights, 'int32'), 'float32') as tf.Tensor1D;
    }
    const logits2d = tf.reshape(logits, [-1, V]) as tf.Tensor2D;
    const mlm = weightedSparseCrossEntropy(logits2d, labels, weights, share && { total: share.totals.mlmWeight, scale: share.workers });
    let order: tf.Scalar = tf.scalar(0);
    const orderLogits = orderKey ? out[orderKey] : undefined;
    if (orderLogits) {
      const y = tf.tensor1d(b.sentenceOrderLabel, 'int32');
      order = weightedSparseCrossEntropy(orderLogits as tf.Tensor2D, y, tf.ones([B]) as tf.Tensor1D, share && { total: share.totals.rows, scale: share.workers });
    }
    return { mlm, order, logits2d, labels, weights, orderLogits };
  };

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

  /** One flat vector [every gradient in parameter order, mlm, order, extras…] through `allReduce`, then split back. */
  const reduceAcross = (p: ParallelStep, grads: Record<string, tf.Tensor>, mlm: tf.Scalar, order: tf.Scalar) => {
    const parts = names.map((n, j) => {
      const g = grads[n];
      return g ? tf.reshape(g, [-1]) : tf.zeros([(vars[j] as tf.Variable).size]);
    });
    const extra = p.extras ?? [];
    const flat = tf.concat([...parts, tf.reshape(mlm, [1]), tf.reshape(order, [1]), tf.tensor1d(extra.length ? [...extra] : [0], 'float32')]) as tf.Tensor1D;
    const reduced = p.allReduce(flat);
    const sizes = [...vars.map((v) => v.size), 1, 1, Math.max(1, extra.length)];
    const pieces = tf.split(reduced, sizes);
    const out: Record<string, tf.Tensor> = {};
    names.forEach((n, j) => {
      out[n] = tf.reshape(pieces[j] as tf.Tensor, (vars[j] as tf.Variable).shape);
    });
    return {
      grads: out,
      mlm: tf.reshape(pieces[names.length] as tf.Tensor, []) as tf.Scalar,
      order: tf.reshape(pieces[names.length + 1] as tf.Tensor, []) as tf.Scalar,
      extras: pieces[names.length + 2] as tf.Tensor1D,
    };
  };

  const evaluate = async (b: Batch): Promise<EvalSums> => {
    const t = tf.tidy(() => {
      const l = losses(evalFwd.right, b, false, 0, params);
      const pred = tf.argMax(l.logits2d, -1);
      const correct = tf.sum(tf.mul(tf.cast(tf.equal(pred, l.labels), 'float32'), l.weights));
      const count = tf.sum(l.weights);
      const orderCorrect = l.orderLogits ? tf.sum(tf.cast(tf.equal(tf.argMax(l.orderLogits, -1), tf.tensor1d(b.sentenceOrderLabel, 'int32')), 'float32')) : tf.scalar(0);
      return tf.stack([tf.mul(l.mlm, tf.add(count, 1e-5)), correct, count, orderCorrect]);
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

  return E.right({
    params,
    optimizer: optimizer.right,
    options: opts,
    trainStep,
    evaluate,
    dispose: () => {
      Object.values(params).forEach((v) => v.dispose());
      optimizer.right.dispose();
    },
  });
};
