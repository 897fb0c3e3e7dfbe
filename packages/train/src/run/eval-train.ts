/**
 * Held-out evaluation of a `lamina train` run (its newest checkpoint) on the run's own held-out
 * data: the objective's eval metrics (loss, accuracy, perplexity …). Reads the checkpoint's
 * weights only: no optimizer, nothing written.
 *
 * @example
 * ```ts
 * const r = await evaluateTrainRun('runs/tiny-gpt', { batches: 4 });
 * if (E.isRight(r)) console.log(r.right.metrics.loss);
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { rawToTensors } from '../checkpoint.js';
import { addSums } from '../core/step.js';
import { evalSumsEngine } from '../core/graph-eval.js';
import type { StepEngine } from '../core/graph-step.js';
import { decodeModel, formatModelError, init, type ModelError, type Node } from '@lamina/dsl';
import { loadTrainRun, prepareModel, prepareTrainData, type TrainError, type TrainRunConfig } from './train.js';

/**
 * What {@link evaluateTrainRun} returns.
 * @example { step: 200, objective: 'clm', batches: 4, metrics: { loss: 3.1, perplexity: 22.2, accuracy: 0.31 } }
 */
export interface TrainRunEval {
  readonly step: number;
  readonly objective: string;
  readonly batches: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** The engine the evaluation ran on (`eager` after a fallback). */
  readonly engine: StepEngine;
}

/**
 * Options of {@link evaluateTrainRun} and {@link evaluateInitialised}.
 * @example { batchSize: 8, batches: 2, engine: 'eager', onEngine: (e) => console.error(evalEngineLine(e)) }
 */
export interface EvalRunOptions {
  readonly batchSize?: number;
  readonly batches?: number;
  /** Runs once the inputs are checked, before the first tensor (e.g. selects the backend). */
  readonly beforeCompute?: () => Promise<void>;
  readonly engine?: StepEngine;
  /** Hears the engine before the first batch (for the one line at start). */
  readonly onEngine?: (engine: StepEngine) => void;
  /** Hears the one-line fallback notice. */
  readonly onNotice?: (line: string) => void;
}

/**
 * Evaluates a train run on its held-out split (see the module comment). `batchSize`/`batches`
 * default to the run's; `engine` to the run's own (a run trained `--eager` evaluates eager, else on
 * the graph path: one TensorFlow function per batch shape); `onEngine` hears the engine line once
 * before the first batch, and `onNotice` the one-line fallback notice. Bad input is a Left with code 2.
 * @example await evaluateTrainRun('runs/m', { batchSize: 8, batches: 2 })
 */
export const evaluateTrainRun = async (runDir: string, o: EvalRunOptions = {}): Promise<E.Either<TrainError, TrainRunEval>> => {
  const run = await loadTrainRun(runDir);
  if (E.isLeft(run)) return run;
  const cfg = { ...run.right.config, batchSize: o.batchSize ?? run.right.config.batchSize, evalBatches: o.batches ?? run.right.config.evalBatches };
  const raw = run.right.params;
  return heldOutEval(cfg, run.right.model, runDir, run.right.step, () => E.right(rawToTensors(raw) as Record<string, tf.Tensor>), { ...o, engine: o.engine ?? run.right.config.engine ?? 'graph' });
};

/**
 * Evaluates a model as initialised — `init(model, cfg.seed)`, no training — on the held-out split
 * `cfg` describes, through the same code as a train run's eval (the same data, the same
 * objective, the same sums): the baseline a user compares a run's eval against. With the same
 * config and seed it is the eval a `lamina train` run logs at step 0. Bad input is a Left with code 2.
 * @example await evaluateInitialised(cfg, 'my-model.ts', { engine: 'graph' })
 */
export const evaluateInitialised = async (cfg: TrainRunConfig, o: EvalRunOptions = {}): Promise<E.Either<TrainError, TrainRunEval>> => {
  const model = decodeModel(cfg.model);
  if (E.isLeft(model)) return E.left({ message: `${cfg.modelSource}: ${model.left.message}`, code: 2 });
  const m = model.right;
  const paramsOf = () => E.mapLeft((e: ModelError) => `${cfg.modelSource}: ${formatModelError(e)}`)(init(m, cfg.seed) as E.Either<ModelError, Record<string, tf.Tensor>>);
  return heldOutEval(cfg, m, cfg.modelSource, 0, paramsOf, { ...o, engine: o.engine ?? 'graph' });
};

/** The held-out eval of `model` under `cfg` with the parameters `paramsOf` makes (after `beforeCompute`). */
const heldOutEval = async (
  cfg: TrainRunConfig,
  model: Node,
  where: string,
  step: number,
  paramsOf: () => E.Either<string, Record<string, tf.Tensor>>,
  o: EvalRunOptions & { readonly engine: StepEngine },
): Promise<E.Either<TrainError, TrainRunEval>> => {
  const data = prepareTrainData(cfg, where, model, () => undefined);
  if (E.isLeft(data)) return E.left({ message: data.left, code: 2 });
  try {
    const prepared = prepareModel(model, cfg, { vocabSize: data.right.tokenizer.vocabSize, numLabels: data.right.numLabels });
    if (E.isLeft(prepared)) return E.left({ message: `${where}: ${prepared.left}`, code: 2 });
    await o.beforeCompute?.();
    const made = paramsOf();
    if (E.isLeft(made)) return E.left({ message: made.left, code: 2 });
    const params = made.right;
    try {
      const ev = evalSumsEngine(o.engine, prepared.right.forward, prepared.right.objective, { xla: cfg.xla ?? false, ...(o.onNotice ? { onNotice: o.onNotice } : {}) });
      o.onEngine?.(o.engine);
      const sums: number[][] = [];
      for (const f of data.right.heldOut) sums.push(await ev(params, f));
      return E.right({ step, objective: cfg.objective, batches: data.right.heldOut.length, metrics: prepared.right.objective.evalResult(addSums(sums)), engine: ev.engine() });
    } finally {
      Object.values(params).forEach((t) => t.dispose());
    }
  } finally {
    data.right.close();
  }
};
