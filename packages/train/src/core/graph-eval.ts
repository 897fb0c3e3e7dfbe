/**
 * Evaluation on the graph path: {@link evalSumsOf}'s twin whose eval-mode forward and the
 * objective's eval sums are traced together into one TensorFlow function per batch signature
 * (`graphRunner` of `@lamina/dsl`), so one held-out batch is one op call and one host read. The
 * parameters are arguments of the function, so the eval of a training run reuses it after every
 * step. Built `eager`, it computes exactly what {@link evalSumsOf} computes, op by op. When the graph
 * path cannot serve (not the native backend, a trace fails) it says so once through `onNotice` and
 * runs eager.
 *
 * @example
 * ```ts
 * const ev = evalSumsEngine('graph', forward, objective, { onNotice: (l) => progress.log(l) });
 * const sums = await ev(params, feed); // e.g. [loss sum, correct, count]
 * ev.engine(); // 'graph'
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { graphRunner, type CompiledModel } from '@lamina/dsl';
import type { TrainingObjective } from '../objectives/index.js';
import { outputsByRole, toTensors, type Feed } from './step.js';
import type { StepEngine } from './graph-step.js';

/**
 * Eval sums of a batch, read to the host, on the engine it was built with.
 * @example const sums = await ev(params, feed); ev.tracedFunctions(); // 1 per batch shape
 */
export type EvalSumsFn = ((params: Readonly<Record<string, tf.Tensor>>, feed: Feed) => Promise<number[]>) & {
  /** `eager` after a fallback (or when built eager), else `graph`. */
  readonly engine: () => StepEngine;
  /** Eval functions traced so far (one per batch signature). */
  readonly tracedFunctions: () => number;
};

/**
 * Options of {@link evalSumsEngine}.
 * @example { xla: false, onNotice: (line) => progress.log(line) }
 */
export interface EvalEngineOptions {
  /** Ask XLA to compile the eval function. Default false. */
  readonly xla?: boolean;
  /** Where the one-line fallback notice goes (default: stderr). */
  readonly onNotice?: (line: string) => void;
}

/**
 * Eval sums of `objective` over `forward` on `engine` (see the module documentation).
 * @example const ev = evalSumsEngine(cfg.engine ?? 'graph', forward, objective);
 */
export const evalSumsEngine = (engine: StepEngine, forward: CompiledModel, objective: TrainingObjective, options: EvalEngineOptions = {}): EvalSumsFn => {
  const runner = graphRunner('lamina_eval', { engine, xla: options.xla ?? false, ...(options.onNotice ? { onNotice: options.onNotice } : {}) });
  const sums = async (params: Readonly<Record<string, tf.Tensor>>, feed: Feed): Promise<number[]> => {
    const pNames = Object.keys(params).sort();
    const iNames = Object.keys(feed.inputs).sort();
    const tNames = Object.keys(feed.targets).sort();
    const pure = (flat: tf.Tensor[]): tf.Tensor[] => {
      const ps = Object.fromEntries(pNames.map((n, i) => [n, flat[i] as tf.Tensor]));
      const xs = Object.fromEntries(iNames.map((n, i) => [n, flat[pNames.length + i] as tf.Tensor]));
      const ts = Object.fromEntries(tNames.map((n, i) => [n, flat[pNames.length + iNames.length + i] as tf.Tensor]));
      return [objective.evalSums(outputsByRole(objective, forward(ps, xs, { training: false })), ts)];
    };
    const xs = toTensors(feed.inputs);
    const ts = toTensors(feed.targets);
    let t: tf.Tensor;
    try {
      const args = [...pNames.map((n) => params[n] as tf.Tensor), ...iNames.map((n) => xs[n] as tf.Tensor), ...tNames.map((n) => ts[n] as tf.Tensor)];
      t = runner.run(JSON.stringify([pNames, iNames, tNames]), pure, args)[0] as tf.Tensor;
    } finally {
      tf.dispose([...Object.values(xs), ...Object.values(ts)]);
    }
    const data = Array.from(await t.data());
    t.dispose();
    return data;
  };
  return Object.assign(sums, { engine: runner.engine, tracedFunctions: runner.tracedFunctions });
};

/**
 * The one line an evaluation or forward pass prints at start about its engine.
 * @example evalEngineLine('graph') // 'eval engine: graph (one TensorFlow function per batch shape; --eager runs op by op)'
 */
export const evalEngineLine = (engine: StepEngine): string =>
  engine === 'graph' ? 'eval engine: graph (one TensorFlow function per batch shape; --eager runs op by op)' : 'eval engine: eager (tfjs ops one at a time)';
