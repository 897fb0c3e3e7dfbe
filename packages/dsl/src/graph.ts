/**
 * Evaluation and inference on one TensorFlow function per input signature.
 *
 * {@link graphRunner} is the cache under it: a tensor function, traced with `traceToFunction` the
 * first time it meets a dtype/shape signature of its arguments, is from then on called as one op
 * (`callFunction`, Grappler on, XLA when asked). {@link compileToGraph} builds on it a model
 * function with `compile`'s options and call signature: the parameters and inputs are the traced
 * function's arguments (never constants of the graph), so new weights need no retrace.
 *
 * When the graph path cannot serve, it runs eager and says so once through `onNotice`: the active
 * backend is not native TensorFlow, or a trace fails (a host read inside the model, a large
 * captured tensor, TensorFlow rejects the graph). Never silently.
 *
 * Memory: the caller owns the outputs; the runner keeps nothing but the registered functions'
 * names (the tracing run's own results are disposed).
 *
 * @example
 * ```ts
 * const model = seq(dense(4, 8, { activation: 'relu' }), dense(8, 2));
 * const params = unwrap(init(model, 42));
 * const f = unwrap(compileToGraph(model, { onNotice: (l) => console.error(l) }));
 * const y = f(params, { input: tf.ones([3, 4]) }) as tf.Tensor; // [3, 2], one op call
 * f.engine(); // 'graph' on the native backend
 * f.tracedFunctions(); // 1: one per input signature
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { compile, type CompiledModel, type CompileOptions, type Outputs, type RunOptions } from './compile.js';
import type { Node } from './layer.js';
import type { Params } from './runtime.js';
import type { ModelError } from './shape.js';
import { callFunction, traceToFunction, type TracedFunction } from './native/index.js';

/**
 * How a function runs: one TensorFlow function per signature, or tfjs ops one at a time.
 * @example const engine: GraphEngine = flags.eager ? 'eager' : 'graph';
 */
export type GraphEngine = 'graph' | 'eager';

/**
 * Options of {@link graphRunner} and {@link compileToGraph}.
 * @example { engine: 'graph', xla: false, onNotice: (line) => process.stderr.write(`${line}\n`) }
 */
export interface GraphOptions {
  /** `eager` runs op by op from the start, with no notice (the user asked). Default `graph`. */
  readonly engine?: GraphEngine;
  /** Ask XLA to compile each call (`_XlaMustCompile`). Default false. */
  readonly xla?: boolean;
  /** Where the one-line fallback notice goes (default: stderr). */
  readonly onNotice?: (line: string) => void;
  /** See `TraceOptions.maxCaptureElements` (default 65536). */
  readonly maxCaptureElements?: number;
}

/**
 * A cache of traced functions (see the module documentation).
 * @example const r = graphRunner('lamina_eval'); const [y] = r.run('sq', ([x]) => [tf.square(x!)], [tf.scalar(3)]);
 */
export interface GraphRunner {
  /**
   * Runs `fn(args)`: the function traced under `key` for the args' dtypes and shapes, traced now
   * if new; eager after a fallback. `fn` must be pure in `args` and the same for the same `key`
   * (the key names what the args mean, e.g. their names). The caller owns the results.
   */
  run(key: string, fn: (args: tf.Tensor[]) => tf.Tensor[], args: readonly tf.Tensor[]): tf.Tensor[];
  /** `eager` after a fallback (or when built eager), else `graph`. */
  engine(): GraphEngine;
  /** Functions traced so far (one per key and argument signature). */
  tracedFunctions(): number;
}

const signature = (args: readonly tf.Tensor[]): string => args.map((a) => `${a.dtype}[${a.shape.join(',')}]`).join(';');

const isNative = (): boolean => tf.getBackend() === 'tensorflow' || tf.getBackend() === 'tensorflow-gpu';

/**
 * A {@link GraphRunner} whose functions are registered under `name` (plus a hash of each graph).
 * The backend is checked at the first call, so a runner may be built before `selectBackend`.
 * @example const r = graphRunner('lamina_forward', { onNotice: (l) => progress.log(l) });
 */
export const graphRunner = (name: string, options: GraphOptions = {}): GraphRunner => {
  const notice = options.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  let engine: GraphEngine = options.engine ?? 'graph';
  let checked = engine === 'eager';
  const traced = new Map<string, TracedFunction>();
  const eager = (fn: (args: tf.Tensor[]) => tf.Tensor[], args: readonly tf.Tensor[]): tf.Tensor[] => tf.tidy(() => fn([...args]));
  const fallBack = (why: string): void => {
    notice(`graph: ${why}; running eager`);
    engine = 'eager';
  };
  return {
    run(key, fn, args) {
      if (!checked) {
        checked = true;
        if (!isNative()) fallBack(`needs the native TensorFlow backend (active: ${tf.getBackend()})`);
      }
      if (engine === 'eager') return eager(fn, args);
      const k = `${key}|${signature(args)}`;
      let f = traced.get(k);
      if (!f) {
        // the tracing run's intermediates and results are released: every call, the first
        // included, takes the function's results (the same numbers on every call)
        const r = tf.tidy(() => {
          const x = traceToFunction(name, fn, args, options.maxCaptureElements === undefined ? {} : { maxCaptureElements: options.maxCaptureElements });
          if (E.isRight(x)) x.right.outputs.forEach((o) => tf.keep(o));
          return x as never;
        }) as ReturnType<typeof traceToFunction>;
        if (E.isLeft(r)) {
          fallBack(`cannot compile this function to one graph (${r.left.message})`);
          return eager(fn, args);
        }
        tf.dispose(r.right.outputs);
        f = r.right;
        traced.set(k, f);
      }
      const called = callFunction(f.name, args, f.numOutputs, { xla: options.xla ?? false });
      if (E.isLeft(called)) throw new Error(`graph function ${f.name} failed: ${called.left.message}`);
      return called.right;
    },
    engine: () => engine,
    tracedFunctions: () => traced.size,
  };
};

/**
 * A compiled model that runs on the graph path: {@link CompiledModel}'s call signature, plus which
 * engine serves it and how many functions it traced.
 * @example const f: GraphModel = unwrap(compileToGraph(model)); f.engine();
 */
export type GraphModel = CompiledModel & {
  /** `eager` after a fallback (or when built eager), else `graph`. */
  readonly engine: () => GraphEngine;
  /** Forward functions traced so far (one per parameter set and input signature). */
  readonly tracedFunctions: () => number;
};

/**
 * {@link compile}, served on one TensorFlow function per input signature (see the module
 * documentation). Eval mode only: a call with `training: true` runs `compile`'s function (a
 * training step is traced whole by the training engines, backward and update included). Inputs
 * are checked as `compile` checks them, with the same {@link ModelInputError}s, before any op runs.
 * Same Left as `compile` for a malformed model or declared inputs that do not fit.
 * @example see the module example
 */
export const compileToGraph = (model: Node, options: CompileOptions & GraphOptions = {}): E.Either<ModelError, GraphModel> => {
  const compiled = compile(model, options);
  if (E.isLeft(compiled)) return compiled;
  const f = compiled.right;
  const runner = graphRunner('lamina_forward', options);
  // the outputs' structure: a tensor (null) or these names, in this order (the same for every signature)
  let structure: readonly string[] | null | undefined;
  const run = (params: Params, inputs: Readonly<Record<string, tf.Tensor>>, opts: RunOptions = {}): Outputs => {
    if (opts.training === true) return f(params, inputs, opts);
    const pNames = Object.keys(params).sort();
    const iNames = Object.keys(inputs).sort();
    const pure = (flat: tf.Tensor[]): tf.Tensor[] => {
      const ps = Object.fromEntries(pNames.map((n, i) => [n, flat[i] as tf.Tensor]));
      const xs = Object.fromEntries(iNames.map((n, i) => [n, flat[pNames.length + i] as tf.Tensor]));
      const out = f(ps, xs, { training: false });
      if (out instanceof tf.Tensor) {
        structure = null;
        return [out];
      }
      structure = Object.keys(out);
      return structure.map((k) => out[k] as tf.Tensor);
    };
    const args = [...pNames.map((n) => params[n] as tf.Tensor), ...iNames.map((n) => inputs[n] as tf.Tensor)];
    const outs = runner.run(JSON.stringify([pNames, iNames]), pure, args);
    if (structure === null || structure === undefined) return outs[0] as tf.Tensor;
    const names = structure;
    return Object.fromEntries(names.map((k, i) => [k, outs[i] as tf.Tensor]));
  };
  return E.right(Object.assign(run, { engine: runner.engine, tracedFunctions: runner.tracedFunctions }));
};
