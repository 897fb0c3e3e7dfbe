/**
 * Typed, Either-returning access to the entry points lamina's patch adds to tfjs-node's native
 * binding (`patches/@tensorflow__tfjs-node@4.22.0.patch`, built by `scripts/setup-native.mjs`):
 * registering TensorFlow functions in the eager context, calling them as one op, reading the full
 * attribute list of an executed op, and enabling TensorFlow's collective ops.
 *
 * TensorFlow errors arrive as values: `NativeError.message` is TensorFlow's own message and
 * `code` its status name (`TF_INVALID_ARGUMENT`, ...).
 *
 * @example
 * ```ts
 * import { graphFunctionSupport } from '@lamina/dsl';
 * const s = graphFunctionSupport();
 * console.log(s.available ? 'graph functions available' : `no graph functions: ${s.reason}`);
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { encodeConfigProto, encodeGraphDef, TF_DTYPE } from './proto.js';

/**
 * Version of the patched entry points this module expects (`binding.LAMINA_GRAPH_API`).
 * @example nodeBackend() // Left unless binding.LAMINA_GRAPH_API === GRAPH_API_VERSION
 */
export const GRAPH_API_VERSION = 2;

/**
 * A failure reported by the native runtime, or the absence of the patched binding.
 * @example { _tag: 'NativeError', message: 'Invalid FunctionDef proto', code: 'TF_INVALID_ARGUMENT' }
 */
export interface NativeError {
  readonly _tag: 'NativeError';
  /** TensorFlow's message, or why the binding is unusable. */
  readonly message: string;
  /** TensorFlow's status name (e.g. `TF_INVALID_ARGUMENT`), when TensorFlow raised it. */
  readonly code?: string;
}

/**
 * Output metadata of an executed op, as the binding reports it.
 * @example { id: 12, shape: [2, 3], dtype: 1 }
 */
export interface NativeTensorInfo {
  readonly id: number;
  readonly shape: number[];
  readonly dtype: number;
}

/**
 * An op attribute as tfjs-node's binding takes it (`type` is a `TF_ATTR_*` value).
 * @example { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT }
 */
export interface NativeOpAttr {
  readonly name: string;
  readonly type: number;
  readonly value: unknown;
}

/**
 * The raw patched binding (tfjs-node's own entry points plus lamina's).
 * @example E.map((b: NodeBackendLike) => b.binding.listDevices())(nodeBackend())
 */
export interface GraphBinding {
  readonly LAMINA_GRAPH_API: number;
  readonly TF_Version: string;
  readonly TF_ATTR_STRING: number;
  readonly TF_ATTR_INT: number;
  readonly TF_ATTR_FLOAT: number;
  readonly TF_ATTR_BOOL: number;
  readonly TF_ATTR_TYPE: number;
  readonly TF_ATTR_SHAPE: number;
  readonly TF_ATTR_FUNC: number;
  readonly TF_FLOAT: number;
  readonly TF_INT32: number;
  readonly TF_INT64: number;
  readonly TF_BOOL: number;
  readonly TF_STRING: number;
  executeOp(name: string, attrs: NativeOpAttr[], inputs: number[], numOutputs: number): NativeTensorInfo[];
  executeOpWithAttrs(
    name: string,
    attrs: NativeOpAttr[],
    inputs: number[],
    numOutputs: number,
  ): { outputs: NativeTensorInfo[]; attrs: Uint8Array };
  createTensor(shape: number[], dtype: number, values: ArrayLike<number> | Uint8Array | string[]): number;
  deleteTensor(id: number): void;
  tensorDataSync(id: number): ArrayLike<number>;
  getNumOfTensors(): number;
  addFunctionDef(bytes: Uint8Array): void;
  hasFunction(name: string): boolean;
  removeFunction(name: string): void;
  graphToFunctionDef(graphDef: Uint8Array, name: string, inputs: string[], outputs: string[], outputNames: string[]): Uint8Array;
  enableCollectiveOps(serverDef: Uint8Array): void;
  abortCollectiveOps(message: string): void;
  collectiveOpsCheckPeerHealth(task: string, timeoutMs: number): void;
  listDevices(): string[];
  getDefaultDevice(): string;
  trimNativeMemory(): boolean;
}

/**
 * tfjs-node's kernel backend, as far as lamina uses it.
 * @example E.map((b: NodeBackendLike) => b.getInputTensorIds([tf.scalar(1)]))(nodeBackend())
 */
export interface NodeBackendLike {
  readonly binding: GraphBinding;
  getInputTensorIds(tensors: readonly tf.Tensor[]): number[];
  createOutputTensor(info: NativeTensorInfo): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: NativeOpAttr[], inputs: readonly tf.Tensor[], numOutputs: number): tf.Tensor[];
}

const nativeError = (message: string, code?: string): NativeError =>
  code === undefined ? { _tag: 'NativeError', message } : { _tag: 'NativeError', message, code };

/**
 * Turns whatever the binding threw into a {@link NativeError} with TensorFlow's message.
 * @example toNativeError(new Error('boom')) // { _tag: 'NativeError', message: 'boom' }
 */
export const toNativeError = (e: unknown): NativeError => {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return nativeError(e.message, typeof code === 'string' ? code : undefined);
  }
  return nativeError(String(e));
};

const attempt = <A>(f: () => A): E.Either<NativeError, A> => {
  try {
    return E.right(f());
  } catch (e) {
    return E.left(toNativeError(e));
  }
};

/**
 * The native kernel backend with the patched binding, or why there is none. Does not switch the
 * active backend and creates no tensor (so collective ops can still be enabled afterwards).
 * @example const b = nodeBackend(); if (E.isRight(b)) b.right.binding.listDevices();
 */
export const nodeBackend = (): E.Either<NativeError, NodeBackendLike> => {
  let backend: unknown;
  try {
    backend = tf.findBackend('tensorflow') ?? undefined;
  } catch (e) {
    return E.left(nativeError(`the native backend could not start (${toNativeError(e).message})`));
  }
  const binding = (backend as { binding?: Partial<GraphBinding> } | undefined)?.binding;
  if (!binding) return E.left(nativeError('the native TensorFlow backend (tfjs-node) is not loaded'));
  if (binding.LAMINA_GRAPH_API !== GRAPH_API_VERSION || typeof binding.addFunctionDef !== 'function')
    return E.left(
      nativeError(
        `tfjs-node's binding lacks lamina's graph entry points (LAMINA_GRAPH_API ${String(binding.LAMINA_GRAPH_API)}, want ${GRAPH_API_VERSION}); run \`node scripts/setup-native.mjs\``,
      ),
    );
  return E.right(backend as NodeBackendLike);
};

/**
 * Whether graph functions can be used in this process, and why not.
 * @example { available: false, reason: 'the active backend is cpu, not native TensorFlow' }
 */
export interface GraphFunctionSupport {
  readonly available: boolean;
  readonly reason: string;
}

/**
 * Reports whether TensorFlow graph functions are available (native backend active, patched
 * binding loaded). `lamina doctor` prints this.
 * @example graphFunctionSupport() // { available: true, reason: 'patched binding, LAMINA_GRAPH_API 2' }
 */
export const graphFunctionSupport = (): GraphFunctionSupport => {
  if (tf.getBackend() !== 'tensorflow' && tf.getBackend() !== 'tensorflow-gpu')
    return { available: false, reason: `the active backend is ${tf.getBackend()}, not native TensorFlow` };
  const b = nodeBackend();
  return E.isRight(b)
    ? { available: true, reason: `patched tfjs-node binding, LAMINA_GRAPH_API ${b.right.binding.LAMINA_GRAPH_API}` }
    : { available: false, reason: b.left.message };
};

/**
 * Registers a serialized `FunctionDef` in the eager context (`TFE_ContextAddFunctionDef`).
 * @example registerFunctionDef(fdefBytes) // right(undefined), or left({ message: 'Invalid FunctionDef proto', ... })
 */
export const registerFunctionDef = (functionDef: Uint8Array): E.Either<NativeError, void> =>
  E.flatMap(nodeBackend(), (b) => attempt(() => b.binding.addFunctionDef(functionDef)));

/**
 * Whether a function of this name is registered in the eager context.
 * @example hasFunction('lamina_step_3f2a') // right(false)
 */
export const hasFunction = (name: string): E.Either<NativeError, boolean> =>
  E.flatMap(nodeBackend(), (b) => attempt(() => b.binding.hasFunction(name)));

/**
 * Removes a registered function from the eager context.
 * @example removeFunction('lamina_step_3f2a')
 */
export const removeFunction = (name: string): E.Either<NativeError, void> =>
  E.flatMap(nodeBackend(), (b) => attempt(() => b.binding.removeFunction(name)));

/**
 * Converts a serialized GraphDef to a serialized FunctionDef (TensorFlow's own
 * `TF_GraphToFunction`, which names arguments and output arguments from the OpDefs). `inputs` are
 * Placeholder endpoints (`"x"` or `"x:0"`), `outputs` any endpoints, named by `outputNames`.
 * @example graphToFunctionDef(encodeGraphDef(nodes), 'square', ['x'], ['y:0'], ['y'])
 */
export const graphToFunctionDef = (
  graphDef: Uint8Array,
  name: string,
  inputs: readonly string[],
  outputs: readonly string[],
  outputNames: readonly string[],
): E.Either<NativeError, Uint8Array> =>
  E.flatMap(nodeBackend(), (b) =>
    attempt(() => b.binding.graphToFunctionDef(graphDef, name, [...inputs], [...outputs], [...outputNames])),
  );

/**
 * How a registered function is called.
 * @example { xla: true }
 */
export interface CallOptions {
  /** Ask XLA to compile the call (`_XlaMustCompile`). Default false. */
  readonly xla?: boolean;
  /** Serialized ConfigProto passed as `config_proto` (turns Grappler on); default: empty (default optimizations). */
  readonly configProto?: Uint8Array;
}

let defaultConfig: Uint8Array = encodeConfigProto({});

/**
 * Sets the `config_proto` every later function call carries when its {@link CallOptions} give
 * none (the graph training steps, evaluation and inference all call through here), and returns
 * the previous one. Empty by default: Grappler with TensorFlow's default optimizers. Used by the
 * bench to price Grappler and threading settings on the same traced function (each distinct
 * config is a kernel of its own, optimized at its first call).
 * @example const before = setDefaultConfigProto(encodeConfigProto({ rewrite: { remapping: 'off' } })); … setDefaultConfigProto(before);
 */
export const setDefaultConfigProto = (config: Uint8Array): Uint8Array => {
  const before = defaultConfig;
  defaultConfig = config;
  return before;
};

/**
 * Calls a registered function as one op, with a `config_proto` attribute so Grappler optimizes
 * it, and `_XlaMustCompile` when asked. Inputs are passed as they are; outputs are new tensors.
 * @example
 * ```ts
 * const r = callFunction('square', [tf.scalar(3)], 1); // right([Tensor 9])
 * ```
 */
export const callFunction = (
  name: string,
  inputs: readonly tf.Tensor[],
  numOutputs: number,
  options: CallOptions = {},
): E.Either<NativeError, tf.Tensor[]> =>
  E.flatMap(nodeBackend(), (b) =>
    attempt(() => {
      const attrs: NativeOpAttr[] = [
        { name: 'config_proto', type: b.binding.TF_ATTR_STRING, value: options.configProto ?? defaultConfig },
      ];
      if (options.xla) attrs.push({ name: '_XlaMustCompile', type: b.binding.TF_ATTR_BOOL, value: true });
      return b.executeMultipleOutputs(name, attrs, inputs, numOutputs);
    }),
  );

/**
 * Returns the C heap's free pages to the operating system (glibc's `malloc_trim(0)`, which also
 * releases the free pages inside every arena). TensorFlow's buffers come from malloc, and glibc
 * keeps what a large step freed resident: after tracing a bert-large step, gigabytes of freed
 * activations and gradients. Right(false): nothing to release, or not glibc.
 * @example trimNativeMemory() // right(true)
 */
export const trimNativeMemory = (): E.Either<NativeError, boolean> => E.flatMap(nodeBackend(), (b) => attempt(() => b.binding.trimNativeMemory()));

/**
 * Enables TensorFlow's collective ops with a serialized `ServerDef` (see `encodeServerDef`). Starts
 * the in-process gRPC server; must run before any tensor exists. Devices are afterwards named
 * `/job:<job>/replica:0/task:<i>/device:CPU:0`.
 * @example enableCollectiveOps(encodeServerDef({ cluster: { worker: ['127.0.0.1:2222'] }, jobName: 'worker', taskIndex: 0 }))
 */
export const enableCollectiveOps = (serverDef: Uint8Array): E.Either<NativeError, void> =>
  E.flatMap(nodeBackend(), (b) => attempt(() => b.binding.enableCollectiveOps(serverDef)));

/**
 * Aborts every ongoing collective (they fail with TF_UNAVAILABLE and this message).
 * @example abortCollectiveOps('worker 1 stopped answering')
 */
export const abortCollectiveOps = (message: string): E.Either<NativeError, void> =>
  E.flatMap(nodeBackend(), (b) => attempt(() => b.binding.abortCollectiveOps(message)));

/**
 * Checks that a collective peer answers within `timeoutMs` (left when it does not).
 * @example checkCollectivePeer('/job:worker/replica:0/task:1', 5000)
 */
export const checkCollectivePeer = (task: string, timeoutMs: number): E.Either<NativeError, void> =>
  E.flatMap(nodeBackend(), (b) => attempt(() => b.binding.collectiveOpsCheckPeerHealth(task, timeoutMs)));

/**
 * The eager context's device names and the one new tensors are placed on.
 * @example listDevices() // right({ devices: ['/job:localhost/replica:0/task:0/device:CPU:0'], default: '…CPU:0' })
 */
export const listDevices = (): E.Either<NativeError, { devices: string[]; default: string }> =>
  E.flatMap(nodeBackend(), (b) => attempt(() => ({ devices: b.binding.listDevices(), default: b.binding.getDefaultDevice() })));

let probed: GraphFunctionSupport | undefined;

/**
 * Checks graph functions end to end, once per process: builds `y = x * x` as a GraphDef, turns it
 * into a FunctionDef, registers it, calls it as one op (with `config_proto`) and checks 3² = 9.
 * `lamina doctor` reports the result.
 * @example probeGraphFunctions() // { available: true, reason: 'patched tfjs-node binding, …; x*x ran as a registered function' }
 */
export const probeGraphFunctions = (): GraphFunctionSupport => {
  if (probed) return probed;
  const support = graphFunctionSupport();
  if (!support.available) return support;
  const name = 'lamina_probe_square';
  const f32 = { kind: 'type', value: TF_DTYPE.float32 } as const;
  const run: E.Either<NativeError, number | undefined> = E.flatMap(
    graphToFunctionDef(
      encodeGraphDef([
        { name: 'x', op: 'Placeholder', inputs: [], attrs: { dtype: f32 } },
        { name: 'y', op: 'Mul', inputs: ['x', 'x'], attrs: { T: f32 } },
      ]),
      name,
      ['x:0'],
      ['y:0'],
      ['y'],
    ),
    (fdef) =>
      E.flatMap(E.flatMap(hasFunction(name), (has) => (has ? E.right(undefined) : registerFunctionDef(fdef))), () =>
        {
          const x = tf.scalar(3);
          const out = callFunction(name, [x], 1);
          x.dispose();
          return E.map((ys: tf.Tensor[]) => {
            const v = ys[0]?.dataSync()[0];
            tf.dispose(ys);
            return v;
          })(out);
        },
      ),
  );
  probed = E.isLeft(run)
    ? { available: false, reason: `a registered function failed: ${run.left.message}` }
    : run.right === 9
      ? { available: true, reason: `${support.reason}; x*x ran as a registered function` }
      : { available: false, reason: `a registered function computed 3*3 = ${String(run.right)}` };
  return probed;
};
