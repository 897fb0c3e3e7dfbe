/**
 * Tracing a tensor function into one TensorFlow function.
 *
 * {@link traceToFunction} runs a function of tensors once, eagerly, while recording every op the
 * native binding executes (name, inputs, outputs, and the full attribute list as eager completed
 * it, via `TFE_OpGetAttrs` + `TFE_OpAttrsSerialize`). That includes the gradient ops tfjs's tape
 * runs, so a whole training step (forward, backward, clip, optimizer update) is recorded. The
 * recording becomes a GraphDef — arguments as Placeholders, tensors made from host data during
 * the run as Consts — then a FunctionDef (TensorFlow's own `TF_GraphToFunction`), registered in the
 * eager context. Later calls run it as a single op.
 *
 * The traced function must be pure in its tensor arguments: every value that changes between
 * calls (parameters, optimizer state, the batch, the learning rate, dropout seeds) must be an
 * argument. Tensors made from host numbers inside it are constants of the graph. A host read
 * (`dataSync`, `array`, …) inside it makes the trace fail: its value could steer the computation.
 *
 * @example
 * ```ts
 * const r = traceToFunction('lamina_square', ([x]) => [tf.mul(x!, x!)], [tf.scalar(3)]);
 * if (E.isRight(r)) callFunction(r.right.name, [tf.scalar(4)], r.right.numOutputs); // [16]
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { createHash } from 'node:crypto';
import { nodeBackend, graphToFunctionDef, registerFunctionDef, hasFunction, type GraphBinding, type NativeError, type NativeOpAttr, type NativeTensorInfo } from './binding.js';
import { decodeNameAttrList, encodeGraphDef, TF_DTYPE, type AttrValue, type NodeDefValue, type TensorValue } from './proto.js';

/**
 * Why a function could not be traced into a graph.
 * @example { _tag: 'TraceError', message: 'the function reads tensor values on the host 1 time(s) …' }
 */
export interface TraceError {
  readonly _tag: 'TraceError';
  readonly message: string;
}

/**
 * A traced and registered function.
 * @example callFunction(t.name, args, t.numOutputs)
 */
export interface TracedFunction {
  /** Its name in the eager context (callable with `callFunction`). */
  readonly name: string;
  readonly numInputs: number;
  readonly numOutputs: number;
  /** Ops recorded (graph nodes before Grappler). */
  readonly numOps: number;
  /** Tensors made from host data during the trace, now graph constants. */
  readonly numConstants: number;
  /** The eager results of the tracing run (owned by the caller). */
  readonly outputs: tf.Tensor[];
}

/**
 * Options of {@link traceToFunction}.
 * @example { maxCaptureElements: 1 << 20 }
 */
export interface TraceOptions {
  /**
   * Largest tensor (elements) that may enter the function without being an argument: a pre-existing
   * tensor read inside is embedded as a constant. Bigger ones fail the trace (they are almost
   * always a parameter that should have been an argument). Default 65536.
   */
  readonly maxCaptureElements?: number;
}

const traceError = (message: string): TraceError => ({ _tag: 'TraceError', message });

const DTYPE_SIZE: Record<number, number> = { [TF_DTYPE.float32]: 4, [TF_DTYPE.int32]: 4, [TF_DTYPE.int64]: 8, [TF_DTYPE.bool]: 1, [TF_DTYPE.uint8]: 1 };

/** Raw little-endian bytes of host values for a TensorProto's `tensor_content`. */
const contentOf = (dtype: number, values: ArrayLike<number> | Uint8Array, count: number): Uint8Array | undefined => {
  const size = DTYPE_SIZE[dtype];
  if (size === undefined) return undefined;
  if (ArrayBuffer.isView(values)) {
    const v = values as unknown as ArrayBufferView;
    // int64 tensors arrive as Int32Array pairs (tfjs-node's representation): raw bytes are right
    if (v.byteLength !== count * size) return undefined;
    return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  }
  const arr = Array.from(values as ArrayLike<number>);
  if (arr.length !== count) return undefined;
  if (dtype === TF_DTYPE.float32) return new Uint8Array(Float32Array.from(arr).buffer);
  if (dtype === TF_DTYPE.int32) return new Uint8Array(Int32Array.from(arr).buffer);
  if (dtype === TF_DTYPE.bool || dtype === TF_DTYPE.uint8) return Uint8Array.from(arr);
  return undefined;
};

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

const tfDtypeOf = (t: tf.Tensor): number | undefined =>
  t.dtype === 'float32' ? TF_DTYPE.float32 : t.dtype === 'int32' ? TF_DTYPE.int32 : t.dtype === 'bool' ? TF_DTYPE.bool : undefined;

interface OpRecord {
  readonly op: string;
  readonly inputs: readonly number[];
  readonly attrs: Map<string, AttrValue>;
  readonly outputs: readonly number[];
}

/**
 * Traces `fn` over `args` into a registered TensorFlow function named `name` (plus a hash of the
 * graph, so different graphs never collide). Returns the eager results of the tracing run too.
 * Left when the binding is missing, `fn` reads values on the host, captures a large tensor that is
 * not an argument, or TensorFlow rejects the graph. A failing `fn` (it throws) is rethrown.
 * @example see the module example
 */
export const traceToFunction = (
  name: string,
  fn: (args: tf.Tensor[]) => tf.Tensor[],
  args: readonly tf.Tensor[],
  options: TraceOptions = {},
): E.Either<TraceError | NativeError, TracedFunction> => {
  const nb = nodeBackend();
  if (E.isLeft(nb)) return nb;
  const backend = nb.right;
  const binding = backend.binding;
  const maxCapture = options.maxCaptureElements ?? 65536;
  for (const [i, a] of args.entries())
    if (tfDtypeOf(a) === undefined) return E.left(traceError(`argument ${i} has dtype ${a.dtype}, which a traced function cannot take`));
  const argIds = backend.getInputTensorIds(args);
  const endpoint = new Map<number, string>();
  argIds.forEach((id, i) => {
    if (!endpoint.has(id)) endpoint.set(id, `arg_${i}:0`);
  });
  const constants = new Map<number, TensorValue>();
  const records: OpRecord[] = [];
  // ids output by recorded ops (their endpoints are assigned when the GraphDef is built)
  const produced = new Set<number>();
  let problem: string | undefined;
  let hostReads = 0;

  const orig = {
    executeOp: binding.executeOp,
    createTensor: binding.createTensor,
    tensorDataSync: binding.tensorDataSync,
  };
  const capture = (id: number): void => {
    if (endpoint.has(id) || produced.has(id) || constants.has(id) || problem) return;
    // a tensor that existed before the trace and is not an argument: embed its value
    const info = (orig.executeOp.call(binding, 'Identity', [], [id], 1) as NativeTensorInfo[])[0]!;
    binding.deleteTensor(info.id);
    const shape = [...info.shape];
    const count = prod(shape);
    if (count > maxCapture) {
      problem = `the function reads a tensor of shape [${shape.join(', ')}] that is not one of its arguments (pass it as an argument)`;
      return;
    }
    const values = orig.tensorDataSync.call(binding, id) as ArrayLike<number>;
    const content = contentOf(info.dtype, values, count);
    if (!content) {
      problem = `the function reads a non-argument tensor of a dtype (${info.dtype}) that cannot be embedded`;
      return;
    }
    constants.set(id, { dtype: info.dtype, shape, content });
  };

  // the binding's own properties are read-only: the backend gets a recording stand-in for the run
  const recording: Record<string, unknown> = {};
  recording.executeOp = (op: string, attrs: NativeOpAttr[], inputs: number[], numOutputs: number): NativeTensorInfo[] => {
    for (const id of inputs) capture(id);
    const r = binding.executeOpWithAttrs(op, attrs, inputs, numOutputs);
    const decoded = decodeNameAttrList(r.attrs);
    records.push({ op, inputs: [...inputs], attrs: decoded.attrs, outputs: r.outputs.map((o) => o.id) });
    for (const o of r.outputs) produced.add(o.id);
    return r.outputs;
  };
  recording.createTensor = (shape: number[], dtype: number, values: ArrayLike<number> | Uint8Array | string[]): number => {
    const id = orig.createTensor.call(binding, shape, dtype, values);
    const content = contentOf(dtype, values as ArrayLike<number>, prod(shape));
    if (prod(shape) > maxCapture)
      problem ??= `the function reads a tensor of shape [${shape.join(', ')}] made from host data that is not one of its arguments (pass it as an argument)`;
    else if (!content) problem ??= `the function makes a host tensor of dtype ${dtype}, which cannot be a graph constant`;
    else constants.set(id, { dtype, shape: [...shape], content });
    return id;
  };
  // host reads: counted where tfjs reads a tensor (cached host values included)
  const reader = backend as unknown as { readSync: (d: unknown) => unknown; read: (d: unknown) => Promise<unknown> };
  const origRead = { readSync: reader.readSync, read: reader.read };
  const countRead = (): void => {
    // tfjs-node's GatherV2 kernel reads its indices only to bounds-check them (TensorFlow's own
    // kernel checks them too, in the graph): that read does not steer the computation
    if (!/[\\/]kernels[\\/]GatherV2\.js/.test(new Error().stack ?? '')) hostReads += 1;
  };

  let outputs: tf.Tensor[];
  let outIds: number[];
  const holder = backend as unknown as { binding: GraphBinding };
  holder.binding = Object.create(binding, Object.fromEntries(Object.entries(recording).map(([k, value]) => [k, { value }]))) as GraphBinding;
  reader.readSync = (d: unknown) => {
    countRead();
    return origRead.readSync.call(backend, d);
  };
  reader.read = (d: unknown) => {
    countRead();
    return origRead.read.call(backend, d);
  };
  try {
    outputs = fn([...args]);
    // outputs still holding host values are materialized here, so they are recorded as constants
    outIds = backend.getInputTensorIds(outputs);
  } finally {
    holder.binding = binding;
    delete (reader as { readSync?: unknown }).readSync;
    delete (reader as { read?: unknown }).read;
    if (reader.readSync !== origRead.readSync) reader.readSync = origRead.readSync;
    if (reader.read !== origRead.read) reader.read = origRead.read;
  }
  const fail = (message: string): E.Either<TraceError, never> => {
    tf.dispose(outputs);
    return E.left(traceError(message));
  };
  if (hostReads > 0) return fail(`the function reads tensor values on the host ${hostReads} time(s) (dataSync/array/data), so it cannot become one graph`);
  if (problem) return fail(problem);
  for (const id of outIds) capture(id);
  if (problem) return fail(problem);

  // ---- the GraphDef ----
  const nodes: NodeDefValue[] = [];
  args.forEach((a, i) =>
    nodes.push({
      name: `arg_${i}`,
      op: 'Placeholder',
      inputs: [],
      attrs: { dtype: { kind: 'type', value: tfDtypeOf(a)! }, shape: { kind: 'shape', value: a.shape } },
    }),
  );
  const constEndpoint = (id: number): string => {
    const name = `const_${id}`;
    if (!endpoint.has(id)) {
      const c = constants.get(id)!;
      nodes.push({ name, op: 'Const', inputs: [], attrs: { dtype: { kind: 'type', value: c.dtype }, value: { kind: 'tensor', value: c } } });
      endpoint.set(id, `${name}:0`);
    }
    return endpoint.get(id)!;
  };
  const ref = (id: number): string | undefined => endpoint.get(id) ?? (constants.has(id) ? constEndpoint(id) : undefined);
  for (const [k, r] of records.entries()) {
    const inputs: string[] = [];
    for (const id of r.inputs) {
      const e = ref(id);
      if (e === undefined) return fail(`op ${r.op} reads a tensor the trace cannot place (id ${id})`);
      inputs.push(e);
    }
    const nodeName = `n${k}_${r.op.replace(/[^A-Za-z0-9_]/g, '_')}`;
    nodes.push({ name: nodeName, op: r.op, inputs, attrs: r.attrs });
    r.outputs.forEach((id, j) => endpoint.set(id, `${nodeName}:${j}`));
  }
  const outEndpoints: string[] = [];
  for (const [i, id] of outIds.entries()) {
    const e = ref(id);
    if (e === undefined) return fail(`output ${i} is not computed by the function`);
    // an Identity per output: an argument or a constant may be returned as it is
    nodes.push({ name: `out_${i}`, op: 'Identity', inputs: [e], attrs: { T: { kind: 'type', value: tfDtypeOf(outputs[i]!) ?? TF_DTYPE.float32 } } });
    outEndpoints.push(`out_${i}:0`);
  }
  const graphDef = encodeGraphDef(nodes);
  const fname = `${name}_${createHash('sha256').update(graphDef).digest('hex').slice(0, 16)}`;
  const registered = hasFunction(fname);
  if (E.isLeft(registered)) return fail(registered.left.message);
  if (!registered.right) {
    const fdef = graphToFunctionDef(
      graphDef,
      fname,
      args.map((_, i) => `arg_${i}:0`),
      outEndpoints,
      outIds.map((_, i) => `out_${i}`),
    );
    if (E.isLeft(fdef)) return fail(`TensorFlow rejected the traced graph: ${fdef.left.message}`);
    const reg = registerFunctionDef(fdef.right);
    if (E.isLeft(reg)) return fail(`TensorFlow could not register the traced function: ${reg.left.message}`);
  }
  return E.right({ name: fname, numInputs: args.length, numOutputs: outputs.length, numOps: records.length, numConstants: constants.size, outputs });
};

