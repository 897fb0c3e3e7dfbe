/**
 * The fine-tuning step: ALBERT with a sequence-classification head (`albertForTask`), started from
 * a checkpoint's encoder and pooler, trained with cross-entropy (classes) or mean squared error
 * (regression), global-norm clipping and AdamW or LAMB. Compiled once; a step runs only tfjs ops
 * inside `tf.tidy` and returns scalar tensors the caller reads and disposes.
 *
 * @example
 * ```ts
 * const t = unwrap(createTaskTrainer({ config, kind: 'classify', numLabels: 2, optimizer: 'adamw', seed: 1, initialParams: loaded.params }));
 * console.log(t.report);                 // 'loaded 27 parameters …, initialised 2 (classifier.bias, classifier.kernel) …'
 * const r = t.trainStep(batch, 1e-4, 0);
 * console.log((await r.loss.data())[0]);
 * r.dispose();
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { compile, init, type RawTensor } from '@lamina/dsl';
import { albertForTask, type AlbertConfig } from '@lamina/albert';
import { createOptimizer, type Optimizer, type OptimizerHyper, type OptimizerKind } from '../optim/optimizer.js';
import { clipByGlobalNorm } from '../optim/grads.js';
import { weightedSparseCrossEntropy } from '../pretrainer.js';
import { deriveSeed } from '../rng.js';
import type { TaskKind } from './data.js';
import type { TaskBatch } from './encode.js';

/**
 * Options of {@link createTaskTrainer}.
 * @example { config, kind: 'regress', numLabels: 1, optimizer: 'adamw', hyper: { weightDecay: 0.01 }, clipNorm: 1, seed: 7, initialParams: loaded.params }
 */
export interface TaskTrainerOptions {
  readonly config: AlbertConfig;
  readonly kind: TaskKind;
  /** Classes (classify); must be 1 for regression. */
  readonly numLabels: number;
  readonly optimizer: OptimizerKind;
  readonly hyper?: OptimizerHyper;
  /** Global-norm gradient clip (default 1.0; 0 disables). */
  readonly clipNorm?: number;
  /** Seed of the fresh parameters (the head) and of dropout. */
  readonly seed: number;
  /**
   * Parameters by lamina path to start from. Paths the task model has are loaded, except the
   * `classifier.*` head, which is always fresh; the rest (MLM/SOP heads) are ignored.
   */
  readonly initialParams?: Readonly<Record<string, RawTensor>>;
  /**
   * Load every path the model has, the head included (for reloading a fine-tuned checkpoint);
   * then every model parameter must be present.
   */
  readonly exact?: boolean;
}

/**
 * What was loaded from the checkpoint and what was initialised.
 * @example { loaded: ['embeddings.word_embeddings', …], initialised: ['classifier.kernel', 'classifier.bias'], ignored: ['mlm.dense.kernel', …] }
 */
export interface LoadReport {
  readonly loaded: readonly string[];
  readonly initialised: readonly string[];
  readonly ignored: readonly string[];
}

/**
 * A fine-tuning session over one parameter store.
 * @example const r = t.trainStep(batch, lr, step); const loss = (await r.loss.data())[0]; r.dispose();
 */
export interface TaskTrainer {
  readonly params: Record<string, tf.Variable>;
  readonly optimizer: Optimizer;
  readonly report: LoadReport;
  /** One optimizer step on a batch; `stepIndex` seeds dropout. Returns the loss and the pre-clip gradient norm. */
  trainStep(b: TaskBatch, lr: number, stepIndex: number): { loss: tf.Scalar; gradNorm: tf.Scalar; dispose: () => void };
  /** Eval-mode logits `[B, numLabels]`, read to the host (row-major). */
  predict(b: TaskBatch): Promise<Float32Array>;
  dispose(): void;
}

/**
 * One line describing a {@link LoadReport}.
 * @example describeLoad({ loaded: ['a', 'b'], initialised: ['classifier.bias'], ignored: ['sop.kernel'] }, 'runs/p')
 * // 'loaded 2 parameters from runs/p, initialised 1 (classifier.bias), ignored 1 not in the task model (sop.kernel)'
 */
export const describeLoad = (r: LoadReport, from: string): string => {
  const list = (xs: readonly string[]) => (xs.length <= 4 ? xs.join(', ') : `${xs.slice(0, 4).join(', ')}, … +${xs.length - 4}`);
  return (
    `loaded ${r.loaded.length} parameters from ${from}, initialised ${r.initialised.length}${r.initialised.length ? ` (${list(r.initialised)})` : ''}` +
    (r.ignored.length ? `, ignored ${r.ignored.length} not in the task model (${list(r.ignored)})` : '')
  );
};

const batchTensors = (b: TaskBatch): Record<string, tf.Tensor> => ({
  input_ids: tf.tensor2d(b.inputIds, [b.size, b.seqLength], 'int32'),
  token_type_ids: tf.tensor2d(b.tokenTypeIds, [b.size, b.seqLength], 'int32'),
  attention_mask: tf.tensor2d(b.attentionMask, [b.size, b.seqLength], 'int32'),
});

const isHead = (p: string): boolean => p.startsWith('classifier.');

/**
 * Builds the task model, its parameters (checkpoint encoder + pooler, fresh seeded head) and the
 * optimizer. A checkpoint tensor whose shape differs from the model's is an error naming it.
 * @example const t = createTaskTrainer({ config, kind: 'classify', numLabels: 3, optimizer: 'adamw', seed: 1, initialParams: loaded.params });
 */
export const createTaskTrainer = (opts: TaskTrainerOptions): E.Either<string, TaskTrainer> => {
  if (opts.kind === 'regress' && opts.numLabels !== 1) return E.left(`regression needs numLabels = 1, got ${opts.numLabels}`);
  if (!(Number.isInteger(opts.numLabels) && opts.numLabels >= 1)) return E.left(`numLabels must be a positive integer, got ${opts.numLabels}`);
  const model = albertForTask(opts.config, 'sequence-classification', opts.numLabels);
  const fwd = compile(model, { input: 'input_ids', outputs: ['logits'] });
  if (E.isLeft(fwd)) return E.left(`${fwd.left.path}: ${fwd.left.message}`);
  const store = init(model, opts.seed);
  if (E.isLeft(store)) return E.left(store.left.message);
  const params = store.right as Record<string, tf.Variable>;
  const src = opts.initialParams ?? {};
  const loaded: string[] = [];
  const initialised: string[] = [];
  const problems: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    const raw = src[k];
    if (raw === undefined || (isHead(k) && !opts.exact)) {
      initialised.push(k);
      continue;
    }
    if (raw.shape.join(',') !== v.shape.join(',')) problems.push(`${k} has shape [${raw.shape.join(', ')}] in the checkpoint, the task model expects [${v.shape.join(', ')}]`);
    else {
      const t = tf.tensor(raw.data, [...raw.shape], 'float32');
      v.assign(t);
      t.dispose();
      loaded.push(k);
    }
  }
  if (opts.exact && initialised.length > 0) problems.push(`missing ${initialised.slice(0, 5).join(', ')}${initialised.length > 5 ? ` (+${initialised.length - 5} more)` : ''}`);
  const ignored = Object.keys(src).filter((k) => !(k in params) || (isHead(k) && !opts.exact));
  if (problems.length) {
    Object.values(params).forEach((v) => v.dispose());
    return E.left(`the checkpoint does not fit the task model: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}`);
  }
  const optimizer = createOptimizer(opts.optimizer, opts.hyper);
  if (E.isLeft(optimizer)) {
    Object.values(params).forEach((v) => v.dispose());
    return E.left(optimizer.left.message);
  }
  const names = Object.keys(params);
  const vars = names.map((k) => params[k] as tf.Variable);
  const clip = opts.clipNorm ?? 1.0;
  const C = opts.numLabels;

  const lossOf = (logits: tf.Tensor, targets: tf.Tensor): tf.Scalar =>
    opts.kind === 'classify'
      ? weightedSparseCrossEntropy(logits as tf.Tensor2D, targets as tf.Tensor1D, tf.ones([targets.shape[0] as number]) as tf.Tensor1D)
      : (tf.mean(tf.square(tf.sub(tf.reshape(logits, [-1]), targets))) as tf.Scalar);

  const trainStep = (b: TaskBatch, lr: number, stepIndex: number) => {
    const result = tf.tidy(() => {
      const inputs = batchTensors(b);
      const targets = opts.kind === 'classify' ? tf.tensor1d(b.targets as Int32Array, 'int32') : tf.tensor1d(b.targets as Float32Array, 'float32');
      const seed = deriveSeed(opts.seed, 'dropout', stepIndex);
      const { value, grads } = tf.variableGrads(() => {
        const ps = Object.fromEntries(names.map((n, j) => [n, vars[j] as tf.Tensor]));
        const out = fwd.right(ps, inputs, { training: true, seed }) as Record<string, tf.Tensor>;
        return lossOf(out.logits as tf.Tensor, targets);
      }, vars);
      const byPath: Record<string, tf.Tensor> = {};
      for (const [j, n] of names.entries()) {
        const g = grads[(vars[j] as tf.Variable).name];
        if (g) byPath[n] = g;
      }
      const { grads: clipped, norm } = clip > 0 ? clipByGlobalNorm(byPath, clip) : { grads: byPath, norm: tf.scalar(0) };
      optimizer.right.step(params, clipped, lr);
      return { loss: value, gradNorm: norm as tf.Scalar };
    });
    return { ...result, dispose: () => [result.loss, result.gradNorm].forEach((t) => t.dispose()) };
  };

  const predict = async (b: TaskBatch): Promise<Float32Array> => {
    const t = tf.tidy(() => {
      const out = fwd.right(params, batchTensors(b), { training: false }) as Record<string, tf.Tensor>;
      return tf.reshape(out.logits as tf.Tensor, [b.size, C]);
    });
    const data = (await t.data()) as Float32Array;
    t.dispose();
    return data;
  };

  return E.right({
    params,
    optimizer: optimizer.right,
    report: { loaded, initialised, ignored },
    trainStep,
    predict,
    dispose: () => {
      Object.values(params).forEach((v) => v.dispose());
      optimizer.right.dispose();
    },
  });
};
