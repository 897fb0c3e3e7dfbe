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
import { compile, compileToGraph, init, type RawTensor } from '@lamina/dsl';
import { albertForTask, INPUTS, isTaskHeadParam, OUTPUTS, type AlbertConfig, type Pooling } from '@lamina/albert';
import { createOptimizer, type Optimizer, type OptimizerHyper, type OptimizerKind } from '../optim/optimizer.js';
import { float32, int32, toTensors, type Feed } from '../core/step.js';
import { stepOfEngine, type EngineStep, type StepEngine } from '../core/graph-step.js';
import { classifyObjective, regressObjective, type TrainingObjective } from '../objectives/index.js';
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
  /** What the classifier reads (default `first`, the `[CLS]` position; see `Pooling`). */
  readonly pooling?: Pooling;
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
  /** `graph` (one TensorFlow function per step, see `core/graph-step.ts`) or `eager` (default). */
  readonly engine?: StepEngine;
  /** Compile the graph step with XLA. Default false. */
  readonly xla?: boolean;
  /** Where the graph engine's one-line fallback notice goes (default: stderr). */
  readonly onNotice?: (line: string) => void;
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
  /** The same step on {@link taskFeed}s, as the {@link TrainStep} interface the loop runs. */
  readonly step: EngineStep;
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

/**
 * A fine-tuning batch as a {@link Feed} of the `classify`/`regress` objective.
 * @example const feed = taskFeed(batch, 'classify');
 */
export const taskFeed = (b: TaskBatch, kind: TaskKind): Feed => ({
  inputs: {
    [INPUTS.ids]: int32([b.size, b.seqLength], b.inputIds),
    [INPUTS.tokenTypes]: int32([b.size, b.seqLength], b.tokenTypeIds),
    [INPUTS.mask]: int32([b.size, b.seqLength], b.attentionMask),
  },
  targets: { labels: kind === 'classify' ? int32([b.size], b.targets) : float32([b.size], b.targets) },
  tokens: b.size * b.seqLength,
});

/**
 * The objective of a task head: `classify` or `regress` on the model's `logits` output.
 * @example taskObjective('classify', 3).name // 'classify'
 */
export const taskObjective = (kind: TaskKind, numLabels: number): TrainingObjective =>
  kind === 'classify' ? classifyObjective(numLabels, OUTPUTS.taskLogits) : regressObjective(OUTPUTS.taskLogits);

/**
 * Builds the task model, its parameters (checkpoint encoder + pooler, fresh seeded head) and the
 * optimizer. A checkpoint tensor whose shape differs from the model's is an error naming it.
 * @example const t = createTaskTrainer({ config, kind: 'classify', numLabels: 3, optimizer: 'adamw', seed: 1, initialParams: loaded.params });
 */
export const createTaskTrainer = (opts: TaskTrainerOptions): E.Either<string, TaskTrainer> => {
  if (opts.kind === 'regress' && opts.numLabels !== 1) return E.left(`regression needs numLabels = 1, got ${opts.numLabels}`);
  if (!(Number.isInteger(opts.numLabels) && opts.numLabels >= 1)) return E.left(`numLabels must be a positive integer, got ${opts.numLabels}`);
  const model = albertForTask(opts.config, 'sequence-classification', opts.numLabels, { pooling: opts.pooling ?? 'first' });
  const fwd = compile(model, { input: INPUTS.ids, outputs: [OUTPUTS.taskLogits] });
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
    if (raw === undefined || (isTaskHeadParam(k) && !opts.exact)) {
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
  const ignored = Object.keys(src).filter((k) => !(k in params) || (isTaskHeadParam(k) && !opts.exact));
  if (problems.length) {
    Object.values(params).forEach((v) => v.dispose());
    return E.left(`the checkpoint does not fit the task model: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}`);
  }
  const optimizer = createOptimizer(opts.optimizer, opts.hyper);
  if (E.isLeft(optimizer)) {
    Object.values(params).forEach((v) => v.dispose());
    return E.left(optimizer.left.message);
  }
  const C = opts.numLabels;
  const objective = taskObjective(opts.kind, C);
  // one dropout seed per step (no micro-batches here), as fine-tuning has always drawn them
  const step = stepOfEngine(opts.engine ?? 'eager', {
    forward: fwd.right,
    objective,
    clipNorm: opts.clipNorm ?? 1.0,
    seed: opts.seed,
    dropoutSeed: (s) => deriveSeed(opts.seed, 'dropout', s),
    xla: opts.xla ?? false,
    ...(opts.onNotice ? { onNotice: opts.onNotice } : {}),
  });
  const state = { params, optimizer: optimizer.right };
  // predictions (held-out eval) on the step's engine (no second notice when the step already fell
  // back for want of the native backend): one TensorFlow function per batch shape on `graph`
  const evalFwd = compileToGraph(model, {
    input: INPUTS.ids,
    outputs: [OUTPUTS.taskLogits],
    engine: step.engine(),
    xla: opts.xla ?? false,
    ...(opts.onNotice ? { onNotice: opts.onNotice } : {}),
  });
  if (E.isLeft(evalFwd)) {
    Object.values(params).forEach((v) => v.dispose());
    optimizer.right.dispose();
    return E.left(`${evalFwd.left.path}: ${evalFwd.left.message}`);
  }

  const trainStep = (b: TaskBatch, lr: number, stepIndex: number) => {
    const m = step(state, [taskFeed(b, opts.kind)], { lr, step: stepIndex });
    return { loss: m.loss, gradNorm: m.gradNorm, dispose: m.dispose };
  };

  const predict = async (b: TaskBatch): Promise<Float32Array> => {
    const t = tf.tidy(() => {
      const out = evalFwd.right(params, toTensors(taskFeed(b, opts.kind).inputs), { training: false }) as Record<string, tf.Tensor>;
      return tf.reshape(out[OUTPUTS.taskLogits] as tf.Tensor, [b.size, C]);
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
    step,
    predict,
    dispose: () => {
      Object.values(params).forEach((v) => v.dispose());
      optimizer.right.dispose();
    },
  });
};
