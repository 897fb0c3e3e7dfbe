/**
 * The compiler: a model value → a plain function over tfjs ops, built once. All interpretation
 * (walking the value, resolving parameter paths, choosing kernels) happens in `compile`; the
 * returned function only runs ops. Shared parameters are read from one store entry at every use,
 * so their gradient is the sum over their uses.
 *
 * @example
 * ```ts
 * const model = seq(dense(4, 8, { activation: 'relu' }), dense(8, 2));
 * const params = unwrap(init(model, 42));
 * const f = unwrap(compile(model));
 * const y = f(params, { input: tf.ones([3, 4]) }) as tf.Tensor; // [3, 2]
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { PURE_JS_WARNING } from './backend.js';
import type { CombinatorNode, Node } from './layer.js';
import { paramSpecs, tiedTablePath } from './params.js';
import { primitivePrefix, rootScope, stepScope, type Scope } from './paths.js';
import { primitiveOf } from './primitives/index.js';
import type { Params, Runtime } from './runtime.js';
import { candidateInputs, formatModelError, inferShape, modelError, sideInputs, tensorSig, type ModelError, type SideInputSpec, type TensorSig } from './shape.js';
import { childScopes, combinatorOf, foldNodes } from './tree.js';

export { applyActivation, geluOp, geluTanhOp, layerNormOp, linear } from './kernels.js';
export type { Params, Runtime } from './runtime.js';

/** What the compiled function returns: a tensor, or named tensors when the model ends in a fanout. */
export type Outputs = tf.Tensor | Readonly<Record<string, tf.Tensor>>;

/** Per-call options of a compiled model. */
export interface RunOptions {
  /** Training mode: dropout active (default false). */
  readonly training?: boolean;
  /** Seed for dropout masks (default 0); the same seed gives the same masks. */
  readonly seed?: number;
  /**
   * Seed for dropout as an int32 tensor of shape [2], for TensorFlow's stateless random ops
   * (`StatelessRandomUniform`, native backend only): masks are a pure function of this tensor, so a
   * traced graph step takes it as an argument and draws fresh masks every step. Overrides `seed`.
   */
  readonly seedTensor?: tf.Tensor;
}

/** A compiled model: `(params, inputs, options) => outputs`. */
export type CompiledModel = (params: Params, inputs: Readonly<Record<string, tf.Tensor>>, opts?: RunOptions) => Outputs;

/** Options of {@link compile}. */
export interface CompileOptions {
  /** Name of the main input in the inputs record (default `input`). */
  readonly input?: string;
  /** For a model ending in a fanout: compute only these outputs (default all). */
  readonly outputs?: readonly string[];
  /**
   * The declared input signatures by name: the main input (under `input`) and any side inputs.
   * Shape inference runs against them before anything is built. Default: the main input is
   * guessed from the model's first layer (ids `[*, *]` after an embedding, else features
   * `[*, *, d]` or `[*, d]`), the side inputs are those the model reads, with unknown dims.
   */
  readonly inputs?: Readonly<Record<string, TensorSig>>;
  /**
   * Names the compiled function accepts without reading them (e.g. a batch field only another
   * selection of outputs needs). Any other name the model does not read is an error.
   */
  readonly ignoreInputs?: readonly string[];
}

/**
 * What the compiled function throws when its inputs do not fit the model: an unknown or
 * misspelled input name, a missing main input, or a shape or rank the model cannot take (found
 * by shape inference on the first call with each new input shape, before any op runs).
 */
export class ModelInputError extends Error {
  readonly _tag = 'ModelInputError';
  /** The path of the node that cannot take the input (empty when it is about the names). */
  readonly path: string;
  constructor(e: ModelError) {
    super(formatModelError(e));
    this.name = 'ModelInputError';
    this.path = e.path;
  }
}

let warnedPureJs = false;

/**
 * The pure-JS backend must never be the silent default: a plain `import '@lamina/dsl'` does not
 * load tfjs-node (the CLI validates its input before TensorFlow loads), so the first `compile`
 * on the "cpu" backend says so once, loudly, on stderr. `selectBackend()` picks native TensorFlow.
 */
const warnIfPureJs = (): void => {
  if (warnedPureJs || tf.getBackend() !== 'cpu') return;
  warnedPureJs = true;
  process.stderr.write(`${PURE_JS_WARNING} Call selectBackend() from @lamina/dsl before compile to use native TensorFlow.\n`);
};

/** Levenshtein distance (short names only: input names). */
const editDistance = (a: string, b: string): number => {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j] as number;
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length] as number;
};

/** The message for an input name the model does not read, naming the ones it does. */
const unknownInput = (name: string, main: string, expected: ReadonlyMap<string, SideInputSpec>): ModelError => {
  const known = [main, ...expected.keys()];
  const near = known.map((k) => [k, editDistance(name.toLowerCase(), k.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0];
  const hint = near && near[1] <= Math.max(2, Math.floor(near[0].length / 3)) ? ` (did you mean "${near[0]}"?)` : '';
  const sides = [...expected.values()].map((s) => `${s.name} (${s.what}${s.required ? ', required' : ''})`);
  return modelError('', `unknown input "${name}"${hint}: this model reads ${main} (main input)${sides.length ? ` and ${sides.join(', ')}` : ' and no side inputs'}`);
};

const sigOf = (t: tf.Tensor): TensorSig => tensorSig(t.shape, t.dtype === 'int32' ? 'int32' : 'float32');

type Value = tf.Tensor | Record<string, tf.Tensor>;
type Fn = (x: Value, rt: Runtime) => Value;

const asTensor = (v: Value): tf.Tensor => {
  if (v instanceof tf.Tensor) return v;
  throw new Error(`expected a tensor, got named outputs {${Object.keys(v).join(', ')}}`);
};

interface Env {
  readonly model: Node;
  readonly tables: Map<string, string>;
}

const compileNode = (n: Node, scope: Scope, env: Env): Fn => {
  const p = primitiveOf(n);
  if (p) {
    const owns = p.params(n as never).length > 0;
    const tie = p.tie?.(n as never);
    const k = p.compile(n as never, { prefix: owns ? primitivePrefix(scope, n.kind) : '', tiedTable: tie ? env.tables.get(tie.target) : undefined });
    return (x, rt) => k(asTensor(x), rt);
  }
  const c = n as CombinatorNode;
  switch (c.kind) {
    case 'seq':
    case 'branch':
    case 'fanout':
    case 'shared':
    case 'named': {
      const scopes = childScopes(c, scope);
      const fs = combinatorOf(c)
        .children(c)
        .map(([key, l], i) => [key, compileNode(l, scopes[i] as Scope, env)] as const);
      if (c.kind === 'shared' || c.kind === 'named') return (fs[0] as readonly [unknown, Fn])[1];
      if (c.kind === 'seq') return (x, rt) => fs.reduce((acc, [, f]) => f(acc, rt), x);
      if (c.kind === 'fanout')
        return (x, rt) => {
          const out: Record<string, tf.Tensor> = {};
          for (const [key, f] of fs) out[key] = asTensor(f(x, rt));
          return out;
        };
      const merge = c.merge;
      return (x, rt) => {
        const outs = fs.map(([, f]) => asTensor(f(x, rt)));
        if (merge === 'concat') return tf.concat(outs, -1);
        return outs.length === 1 ? (outs[0] as tf.Tensor) : outs.length === 2 ? tf.add(outs[0] as tf.Tensor, outs[1] as tf.Tensor) : tf.addN(outs);
      };
    }
    case 'repeat': {
      const times = c.times;
      // the step signal's scope is taken before the copies' (the order walkScoped uses)
      const step = c.step ? compileNode(c.step, stepScope(scope), env) : undefined;
      const fs = childScopes(c, scope).map((s) => compileNode(c.layer, s, env));
      const at = (i: number): Fn => (fs.length === 1 ? (fs[0] as Fn) : (fs[i] as Fn));
      return (x, rt) => {
        const outer = rt.step;
        let y = x;
        for (let i = 0; i < times; i++) {
          rt.step = i;
          if (step) y = step(y, rt);
          y = at(i)(y, rt);
        }
        rt.step = outer;
        return y;
      };
    }
  }
};

/** Restricts a model ending in a fanout to some of its outputs (the others are not computed). */
const selectOutputs = (n: Node, names: readonly string[]): E.Either<ModelError, Node> => {
  if (n.kind === 'fanout') {
    const missing = names.filter((k) => !Object.hasOwn(n.outputs, k));
    if (missing.length) return E.left(modelError('fanout', `unknown output(s) ${missing.join(', ')} (outputs: ${Object.keys(n.outputs).join(', ')})`));
    return E.right({ kind: 'fanout', outputs: Object.fromEntries(names.map((k) => [k, n.outputs[k] as Node])) });
  }
  if (n.kind === 'seq' && n.layers.length > 0) {
    const last = n.layers[n.layers.length - 1] as Node;
    return E.map((l: Node): Node => ({ kind: 'seq', layers: [...n.layers.slice(0, -1), l] }))(selectOutputs(last, names));
  }
  if (n.kind === 'named') return E.map((l: Node): Node => ({ kind: 'named', name: n.name, layer: l }))(selectOutputs(n.layer, names));
  return E.left(modelError('', 'outputs can only be selected from a model that ends in a fanout'));
};

/**
 * Compiles a model to a plain function `(params, inputs, { training, seed }) => outputs`.
 * `inputs[opts.input ?? 'input']` is the main stream; other entries are side inputs
 * (`attention_mask`, `token_type_ids`, …). Validates the model first, never throws: malformed
 * nodes, and shape inference against `opts.inputs` (or the likeliest inputs, see
 * {@link CompileOptions.inputs}), are a {@link ModelError} naming the path. Parameter paths are
 * resolved here, once.
 *
 * The returned function checks its inputs before any op runs and throws a
 * {@link ModelInputError} for a name the model does not read (naming the ones it does) or for
 * inputs whose shapes do not fit (shape inference, once per new input shape).
 *
 * Note: the parameters of an output not selected with `opts.outputs` are still resolved by the
 * same paths, so one store serves every selection.
 */
export const compile = (model: Node, opts: CompileOptions = {}): E.Either<ModelError, CompiledModel> => {
  warnIfPureJs();
  const specs = paramSpecs(model);
  if (E.isLeft(specs)) return specs;
  const selected = opts.outputs ? selectOutputs(model, opts.outputs) : E.right(model);
  if (E.isLeft(selected)) return selected;
  const tables = foldNodes(model, new Map<string, string>(), (m, n) => {
    const tie = primitiveOf(n)?.tie?.(n as never);
    if (tie && !m.has(tie.target)) {
      const t = tiedTablePath(model, tie.target);
      if (t) m.set(tie.target, t);
    }
    return m;
  });
  const inputName = opts.input ?? 'input';
  const expected = sideInputs(model);
  // a name the model does read is never ignored, whatever the caller listed
  const ignored = new Set((opts.ignoreInputs ?? []).filter((k) => !expected.has(k)));
  const allowed = new Set([inputName, ...expected.keys(), ...ignored]);
  const checked = checkDeclared(selected.right, model, inputName, expected, allowed, opts.inputs);
  if (E.isLeft(checked)) return checked;
  const f = compileNode(selected.right, rootScope(), { model, tables });
  const fits = new Set<string>();
  return E.right((params, inputs, run = {}) => {
    const x = inputs[inputName];
    if (!x) throw new ModelInputError(modelError('', `missing main input "${inputName}" (got ${Object.keys(inputs).join(', ') || 'nothing'})`));
    let key = '';
    for (const k in inputs) {
      if (!allowed.has(k)) throw new ModelInputError(unknownInput(k, inputName, expected));
      const t = inputs[k] as tf.Tensor;
      key += `${k}:${t.dtype}:${t.shape.join(',')};`;
    }
    if (!fits.has(key)) {
      const side: Record<string, TensorSig> = {};
      for (const k in inputs) if (k !== inputName && !ignored.has(k)) side[k] = sigOf(inputs[k] as tf.Tensor);
      const r = inferShape(selected.right, sigOf(x), side, model);
      if (E.isLeft(r)) throw new ModelInputError(r.left);
      if (fits.size >= 256) fits.clear();
      fits.add(key);
    }
    const rt: Runtime = { params, side: inputs, training: run.training ?? false, seed: run.seed ?? 0, seedTensor: run.seedTensor, dropoutCalls: 0, masks: new Map(), step: 0 };
    return f(x, rt);
  });
};

/** The default signature of a side input the model reads: unknown dims at its first allowed rank. */
const defaultSide = (s: SideInputSpec): TensorSig => tensorSig(Array.from({ length: s.ranks[0] ?? 2 }, () => null), s.dtype === 'float32' ? 'float32' : 'int32');

/**
 * Shape inference before anything is built: against the declared inputs, or (none declared) the
 * likeliest main-input signatures with every side input the model reads at unknown dims. With
 * guesses, the error reported is the one found deepest in the model (a guess of the wrong rank
 * fails at the first layer; a real mismatch further in).
 */
const checkDeclared = (
  selected: Node,
  model: Node,
  inputName: string,
  expected: ReadonlyMap<string, SideInputSpec>,
  allowed: ReadonlySet<string>,
  declared: Readonly<Record<string, TensorSig>> | undefined,
): E.Either<ModelError, void> => {
  if (declared) {
    for (const k of Object.keys(declared)) if (!allowed.has(k)) return E.left(unknownInput(k, inputName, expected));
    const x = declared[inputName];
    if (!x) return E.left(modelError('', `the declared inputs have no main input "${inputName}" (declared: ${Object.keys(declared).join(', ') || 'nothing'})`));
    const side = Object.fromEntries(Object.entries(declared).filter(([k]) => k !== inputName && expected.has(k)));
    return E.map(() => undefined)(inferShape(selected, x, side, model));
  }
  const side = Object.fromEntries([...expected.values()].map((s) => [s.name, defaultSide(s)]));
  let best: ModelError | undefined;
  for (const x of candidateInputs(selected)) {
    const r = inferShape(selected, x, side, model);
    if (E.isRight(r)) return E.right(undefined);
    if (!best || r.left.path.length > best.path.length) best = r.left;
  }
  return best ? E.left(best) : E.right(undefined);
};
