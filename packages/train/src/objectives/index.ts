/**
 * Objectives as values. An objective says which inputs a model is fed, which of its outputs the
 * loss reads (by role), which targets a batch carries, how the loss and the held-out metrics come
 * from them, and what shape each output must have (checked on the model value, before any
 * tensor exists). The training step ({@link ../core/step}) and the loop know nothing else about
 * the task.
 *
 * | objective        | feeds                                  | reads (role → shape)                       | loss |
 * |------------------|----------------------------------------|--------------------------------------------|------|
 * | `mlm`            | ids, token types, mask, masked positions | `logits` [B, P or S, V], `order`? [B, 2] | weighted CE (+ order CE) |
 * | `clm`            | ids, mask                              | `logits` [B, S, V]                         | next-token CE, padding ignored |
 * | `classify`       | ids, token types, mask                 | `logits` [B, C]                            | CE |
 * | `regress`        | ids, token types, mask                 | `logits` [B, 1]                            | MSE |
 * | `token-classify` | ids, token types, mask                 | `logits` [B, S, C]                         | weighted CE per token |
 *
 * @example
 * ```ts
 * const o = clmObjective();
 * const { total } = o.loss({ logits: modelLogits }, { labels, weights }); // mean next-token cross-entropy
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorSig } from '@lamina/dsl';

/** The objectives `lamina train --objective` accepts. */
export const OBJECTIVE_NAMES = ['clm', 'mlm', 'classify', 'regress', 'token-classify'] as const;
/**
 * One of {@link OBJECTIVE_NAMES}.
 * @example const o: ObjectiveName = 'clm';
 */
export type ObjectiveName = (typeof OBJECTIVE_NAMES)[number];

/**
 * Where an objective finds an output of the model: the name of a fanout output, or `null` for the
 * model's one output (a model that does not end in a fanout).
 * @example const ref: OutputRef = 'prediction_logits';
 */
export type OutputRef = string | null;

/**
 * The loss of a batch: the total the gradient is taken of, and its named parts (logged as
 * metrics; empty when the total is the only part).
 * @example { total, parts: { mlm_loss, order_loss } }
 */
export interface LossValue {
  readonly total: tf.Scalar;
  readonly parts: Readonly<Record<string, tf.Scalar>>;
}

/**
 * A worker's share of a global batch: the global totals and the number of workers.
 * @example { totals: { mlmWeight: 96, rows: 32 }, scale: 2 }
 */
export interface LossShare {
  /** The global totals: numbers, or scalar tensors inside a traced step (there they change every step). */
  readonly totals: Readonly<Record<string, number | tf.Scalar>>;
  readonly scale: number;
}

/**
 * The sizes an output's shape is checked against.
 * @example { vocabSize: 10000, numLabels: 2 }
 */
export interface OutputDims {
  readonly vocabSize?: number;
  readonly numLabels?: number;
}

/**
 * An objective (see the module comment).
 * @example const o = classifyObjective(3); o.outputs; // { logits: 'logits' }
 */
export interface TrainingObjective {
  readonly name: ObjectiveName;
  /** The role → model output each loss term reads. */
  readonly outputs: Readonly<Record<string, OutputRef>>;
  /** The names of the targets a batch carries for this objective. */
  readonly targets: readonly string[];
  /**
   * The loss from the outputs (by role) and the targets; called inside a gradient scope. With
   * `share` (data parallelism: this worker holds a share of a global batch), normalised by the
   * global batch's totals ({@link TrainingObjective.globalTotals}) times `share.scale` (the
   * workers), so the average over workers is the global batch's loss.
   */
  loss(out: Readonly<Record<string, tf.Tensor>>, targets: Readonly<Record<string, tf.Tensor>>, share?: LossShare): LossValue;
  /** The denominators of the loss over a (global) batch, for {@link LossShare}; objectives without one cannot be shared. */
  globalTotals?(feed: { readonly targets: Readonly<Record<string, { readonly data: ArrayLike<number>; readonly shape: readonly number[] }>> }): Record<string, number>;
  /** Eval-mode sums over a batch (a fixed-length vector; sums add up over batches). */
  evalSums(out: Readonly<Record<string, tf.Tensor>>, targets: Readonly<Record<string, tf.Tensor>>): tf.Tensor1D;
  /** Held-out metrics (named, for metrics.jsonl as `eval/<name>`) from summed {@link TrainingObjective.evalSums}. */
  evalResult(sums: readonly number[]): Record<string, number>;
  /** Why an output of this shape cannot serve `role` (undefined: it fits). */
  checkOutput(role: string, sig: TensorSig, dims: OutputDims): string | undefined;
}

/**
 * Weighted sparse softmax cross-entropy, `Σ w·(-log softmax(logits)[label]) / (Σ w + 1e-5)` as in
 * ALBERT's `get_masked_lm_output`, with a hand-written gradient (softmax − one-hot) so no
 * `[N, V]` one-hot is materialised in the forward pass.
 * @example weightedSparseCrossEntropy(tf.tensor2d([[2, 0]]), tf.tensor1d([0], 'int32'), tf.ones([1])) // ≈ 0.127
 */
export const weightedSparseCrossEntropy = (
  logits2d: tf.Tensor2D,
  labels: tf.Tensor1D,
  weights: tf.Tensor1D,
  /** Data parallelism: `scale · Σ w·l / (total + 1e-5)`, with the global batch's weight total (a number, or a scalar tensor inside a traced step). */
  normaliser?: { readonly total: number | tf.Scalar; readonly scale: number },
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
  if (normaliser) return tf.div(tf.mul(tf.sum(tf.mul(losses, weights)), normaliser.scale), typeof normaliser.total === 'number' ? normaliser.total + 1e-5 : tf.add(normaliser.total, 1e-5)) as tf.Scalar;
  return tf.div(tf.sum(tf.mul(losses, weights)), tf.add(tf.sum(weights), 1e-5)) as tf.Scalar;
};

const show = (s: readonly (number | null)[]): string => `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
const need = (t: Readonly<Record<string, tf.Tensor>>, k: string): tf.Tensor => {
  const x = t[k];
  if (x === undefined) throw new Error(`objective: missing "${k}"`);
  return x;
};

/** Token-level weighted cross-entropy and its eval sums: [loss·(count+1e-5), correct, count]. */
const tokenSums = (logits: tf.Tensor, labels: tf.Tensor, weights: tf.Tensor, normaliser?: { readonly total: number | tf.Scalar; readonly scale: number }): { loss: tf.Scalar; sums: tf.Tensor[] } => {
  const V = logits.shape[logits.shape.length - 1] as number;
  const l2 = tf.reshape(logits, [-1, V]) as tf.Tensor2D;
  const y = tf.reshape(labels, [-1]) as tf.Tensor1D;
  const w = tf.reshape(weights, [-1]) as tf.Tensor1D;
  const loss = weightedSparseCrossEntropy(l2, y, w, normaliser);
  const count = tf.sum(w);
  const correct = tf.sum(tf.mul(tf.cast(tf.equal(tf.argMax(l2, -1), y), 'float32'), w));
  return { loss, sums: [tf.mul(loss, tf.add(count, 1e-5)), correct, count] };
};
const tokenResult = (prefix: string, [lossSum = 0, correct = 0, count = 0]: readonly number[]) => {
  const loss = lossSum / Math.max(1, count);
  return { [`${prefix}accuracy`]: correct / Math.max(1, count), [`${prefix}loss`]: loss, perplexity: Math.exp(loss) };
};

/** A share's normaliser of the global total `k` (undefined: no share, normalise locally). */
const shareOf = (share: LossShare | undefined, k: string) => share && { total: share.totals[k] as number | tf.Scalar, scale: share.scale };
/** Σ of a target's values (a global batch's weight total). */
const sumOf = (x: { readonly data: ArrayLike<number> } | undefined): number => {
  let w = 0;
  for (const v of Array.from(x?.data ?? [])) w += v;
  return w;
};

const checkRank = (sig: TensorSig, rank: number, what: string, last: number | undefined, lastName: string): string | undefined => {
  if (sig.dtype !== 'float32') return `must be float32 ${what}, got ${sig.dtype}`;
  if (sig.shape.length !== rank) return `must have shape ${what}, got ${show(sig.shape)}`;
  const l = sig.shape[rank - 1];
  if (last !== undefined && l !== null && l !== last) return `must have shape ${what} with ${lastName} = ${last}, got ${show(sig.shape)}`;
  return undefined;
};

/**
 * Options of {@link mlmObjective}: where the MLM logits and the optional sentence-level head are.
 * @example { logits: OUTPUTS.mlmLogits, order: orderLogitsOutput('sop') }
 */
export interface MlmOptions {
  readonly logits: OutputRef;
  /** The sentence-order (SOP) or next-sentence (NSP) logits `[B, 2]`, if the model has that head. */
  readonly order?: string;
}

/**
 * Masked-language modelling, optionally with a sentence-level head (ALBERT's SOP, BERT's NSP).
 * Targets: `mlm_labels` `[N]` int32, `mlm_weights` `[N]` float32 (N = the logits' rows), and
 * `order_labels` `[B]` with a head. Parts: `mlm_loss`, `order_loss`. Eval: `mlm_accuracy`,
 * `mlm_loss`, `perplexity`, `order_accuracy`.
 * @example mlmObjective({ logits: 'prediction_logits', order: 'sop_logits' })
 */
export const mlmObjective = (o: MlmOptions): TrainingObjective => ({
  name: 'mlm',
  outputs: { logits: o.logits, ...(o.order ? { order: o.order } : {}) },
  targets: ['mlm_labels', 'mlm_weights', ...(o.order ? ['order_labels'] : [])],
  loss(out, t, share): LossValue {
    const V = need(out, 'logits').shape.at(-1) as number;
    const at = (k: string) => shareOf(share, k);
    const mlm = weightedSparseCrossEntropy(tf.reshape(need(out, 'logits'), [-1, V]) as tf.Tensor2D, need(t, 'mlm_labels') as tf.Tensor1D, need(t, 'mlm_weights') as tf.Tensor1D, at('mlmWeight'));
    if (!o.order) return { total: mlm, parts: { mlm_loss: mlm } };
    const y = need(t, 'order_labels') as tf.Tensor1D;
    const order = weightedSparseCrossEntropy(need(out, 'order') as tf.Tensor2D, y, tf.ones([y.shape[0]]) as tf.Tensor1D, at('rows'));
    return { total: tf.add(mlm, order) as tf.Scalar, parts: { mlm_loss: mlm, order_loss: order } };
  },
  globalTotals(feed) {
    let w = 0;
    for (const x of Array.from(feed.targets.mlm_weights?.data ?? [])) w += x;
    return { mlmWeight: w, rows: feed.targets.order_labels?.shape[0] ?? 0 };
  },
  evalSums(out, t) {
    const s = tokenSums(need(out, 'logits'), need(t, 'mlm_labels'), need(t, 'mlm_weights'));
    const orderLogits = out.order;
    const y = t.order_labels;
    const orderCorrect = orderLogits && y ? tf.sum(tf.cast(tf.equal(tf.argMax(orderLogits, -1), y), 'float32')) : tf.scalar(0);
    const orderCount = tf.scalar(orderLogits && y ? (y.shape[0] as number) : 0);
    return tf.stack([...s.sums, orderCorrect, orderCount]) as tf.Tensor1D;
  },
  evalResult(sums) {
    const r = tokenResult('mlm_', sums);
    const [, , , oc = 0, on = 0] = sums;
    return { ...r, ...(on > 0 ? { order_accuracy: oc / on } : {}) };
  },
  checkOutput(role, sig, d) {
    if (role === 'order') return checkRank(sig, 2, '[batch, 2]', 2, 'classes');
    return checkRank(sig, 3, '[batch, positions, vocab]', d.vocabSize, 'vocab');
  },
});

/**
 * Causal language modelling: logits at every position predict the next token. Targets: `labels`
 * `[B, S]` int32 (the ids shifted left by one) and `weights` `[B, S]` float32 (0 at padding and at
 * the last real token). Eval: `accuracy`, `loss`, `perplexity`.
 * @example clmObjective().outputs // { logits: null }
 */
export const clmObjective = (logits: OutputRef = null): TrainingObjective => ({
  name: 'clm',
  outputs: { logits },
  targets: ['labels', 'weights'],
  loss(out, t, share) {
    return { total: tokenSums(need(out, 'logits'), need(t, 'labels'), need(t, 'weights'), shareOf(share, 'weight')).loss, parts: {} };
  },
  globalTotals: (feed) => ({ weight: sumOf(feed.targets.weights) }),
  evalSums(out, t) {
    return tf.stack(tokenSums(need(out, 'logits'), need(t, 'labels'), need(t, 'weights')).sums) as tf.Tensor1D;
  },
  evalResult: (sums) => tokenResult('', sums),
  checkOutput: (_role, sig, d) => checkRank(sig, 3, '[batch, seq, vocab]', d.vocabSize, 'vocab'),
});

/**
 * Sequence classification: `logits` `[B, C]`, target `labels` `[B]` int32, cross-entropy.
 * Eval: `accuracy`, `loss`.
 * @example classifyObjective(2, 'logits')
 */
export const classifyObjective = (numLabels: number, logits: OutputRef = null): TrainingObjective => ({
  name: 'classify',
  outputs: { logits },
  targets: ['labels'],
  loss(out, t, share) {
    const y = need(t, 'labels') as tf.Tensor1D;
    return { total: weightedSparseCrossEntropy(need(out, 'logits') as tf.Tensor2D, y, tf.ones([y.shape[0] as number]) as tf.Tensor1D, shareOf(share, 'rows')), parts: {} };
  },
  globalTotals: (feed) => ({ rows: feed.targets.labels?.shape[0] ?? 0 }),
  evalSums(out, t) {
    const y = need(t, 'labels');
    return tf.stack(tokenSums(need(out, 'logits'), y, tf.onesLike(y).asType('float32')).sums) as tf.Tensor1D;
  },
  evalResult: (sums) => {
    const { perplexity: _p, ...r } = tokenResult('', sums);
    return r;
  },
  checkOutput: (_role, sig) => checkRank(sig, 2, '[batch, labels]', numLabels, 'labels'),
});

/**
 * Sequence regression: `logits` `[B, 1]`, target `labels` `[B]` float32, mean squared error.
 * Eval: `mse`.
 * @example regressObjective('logits')
 */
export const regressObjective = (logits: OutputRef = null): TrainingObjective => ({
  name: 'regress',
  outputs: { logits },
  targets: ['labels'],
  loss(out, t, share) {
    const sq = tf.square(tf.sub(tf.reshape(need(out, 'logits'), [-1]), need(t, 'labels')));
    if (!share) return { total: tf.mean(sq) as tf.Scalar, parts: {} };
    return { total: tf.div(tf.mul(tf.sum(sq), share.scale), share.totals.rows as number | tf.Scalar) as tf.Scalar, parts: {} };
  },
  globalTotals: (feed) => ({ rows: feed.targets.labels?.shape[0] ?? 0 }),
  evalSums(out, t) {
    const y = need(t, 'labels');
    return tf.stack([tf.sum(tf.square(tf.sub(tf.reshape(need(out, 'logits'), [-1]), y))), tf.scalar(y.shape[0] as number)]) as tf.Tensor1D;
  },
  evalResult: ([sq = 0, n = 0]) => ({ mse: sq / Math.max(1, n) }),
  checkOutput: (_role, sig) => checkRank(sig, 2, '[batch, 1]', 1, 'outputs'),
});

/**
 * Token classification (tagging): `logits` `[B, S, C]`, targets `labels` `[B, S]` int32 and
 * `weights` `[B, S]` float32 (0 at padding). Eval: `accuracy`, `loss`.
 * @example tokenClassifyObjective(5)
 */
export const tokenClassifyObjective = (numLabels: number, logits: OutputRef = null): TrainingObjective => ({
  name: 'token-classify',
  outputs: { logits },
  targets: ['labels', 'weights'],
  loss(out, t, share) {
    return { total: tokenSums(need(out, 'logits'), need(t, 'labels'), need(t, 'weights'), shareOf(share, 'weight')).loss, parts: {} };
  },
  globalTotals: (feed) => ({ weight: sumOf(feed.targets.weights) }),
  evalSums(out, t) {
    return tf.stack(tokenSums(need(out, 'logits'), need(t, 'labels'), need(t, 'weights')).sums) as tf.Tensor1D;
  },
  evalResult: (sums) => {
    const { perplexity: _p, ...r } = tokenResult('', sums);
    return r;
  },
  checkOutput: (_role, sig) => checkRank(sig, 3, '[batch, seq, labels]', numLabels, 'labels'),
});
