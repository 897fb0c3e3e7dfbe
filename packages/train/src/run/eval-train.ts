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
import { addSums, evalSumsOf } from '../core/step.js';
import { loadTrainRun, prepareModel, prepareTrainData, type TrainError } from './train.js';

/**
 * What {@link evaluateTrainRun} returns.
 * @example { step: 200, objective: 'clm', batches: 4, metrics: { loss: 3.1, perplexity: 22.2, accuracy: 0.31 } }
 */
export interface TrainRunEval {
  readonly step: number;
  readonly objective: string;
  readonly batches: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * Evaluates a train run on its held-out split (see the module comment). `batchSize`/`batches`
 * default to the run's. Bad input is a Left with code 2.
 * @example await evaluateTrainRun('runs/m', { batchSize: 8, batches: 2 })
 */
export const evaluateTrainRun = async (
  runDir: string,
  o: { readonly batchSize?: number; readonly batches?: number; readonly beforeCompute?: () => Promise<void> } = {},
): Promise<E.Either<TrainError, TrainRunEval>> => {
  const run = await loadTrainRun(runDir);
  if (E.isLeft(run)) return run;
  const cfg = { ...run.right.config, batchSize: o.batchSize ?? run.right.config.batchSize, evalBatches: o.batches ?? run.right.config.evalBatches };
  const data = prepareTrainData(cfg, runDir, run.right.model, () => undefined);
  if (E.isLeft(data)) return E.left({ message: data.left, code: 2 });
  try {
    const prepared = prepareModel(run.right.model, cfg, { vocabSize: data.right.tokenizer.vocabSize, numLabels: data.right.numLabels });
    if (E.isLeft(prepared)) return E.left({ message: `${runDir}: ${prepared.left}`, code: 2 });
    await o.beforeCompute?.();
    const params = rawToTensors(run.right.params) as Record<string, tf.Tensor>;
    try {
      const sums: number[][] = [];
      for (const f of data.right.heldOut) sums.push(await evalSumsOf(prepared.right.forward, prepared.right.objective, params, f));
      return E.right({ step: run.right.step, objective: cfg.objective, batches: data.right.heldOut.length, metrics: prepared.right.objective.evalResult(addSums(sums)) });
    } finally {
      Object.values(params).forEach((t) => t.dispose());
    }
  } finally {
    data.right.close();
  }
};
