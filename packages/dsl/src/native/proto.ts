/**
 * A minimal protobuf wire-format writer and reader, and encoders for the few TensorFlow messages
 * lamina sends to the native runtime (GraphDef, NodeDef, AttrValue, TensorProto, ConfigProto,
 * ServerDef) or reads back from it (NameAttrList).
 *
 * Field numbers follow `tensorflow/core/framework/*.proto` and `core/protobuf/*.proto`. Only the
 * fields lamina uses are encoded. Bytes are produced deterministically (same input, same bytes),
 * so a hash of a serialized graph can key a cache.
 *
 * @example
 * ```ts
 * import { encodeAttrValue, TF_DTYPE } from '@lamina/dsl';
 * const bytes = encodeAttrValue({ kind: 'type', value: TF_DTYPE.float32 }); // Uint8Array
 * ```
 * @module
 */

/**
 * TensorFlow `DataType` enum values lamina uses.
 * @example TF_DTYPE.float32 // 1
 */
export const TF_DTYPE = { float32: 1, int32: 3, uint8: 4, string: 7, int64: 9, bool: 10 } as const;

/**
 * Grows a byte buffer and writes protobuf fields into it.
 * @example new ProtoWriter().int(1, 300).string(2, "x").finish()
 */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes a varint (non-negative safe integer, or a negative int64 as ten bytes). */
  varint(n: number | bigint): this {
    let v = typeof n === 'bigint' ? n : BigInt(n);
    if (v < 0n) v = (1n << 64n) + v;
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
    return this;
  }

  private tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  /** A varint field (int32, int64, bool, enum). */
  int(field: number, n: number | bigint): this {
    return this.tag(field, 0).varint(n);
  }

  /** A float (fixed32) field. */
  float(field: number, f: number): this {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, f, true);
    this.len += 4;
    return this;
  }

  /** A length-delimited bytes field. */
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** A UTF-8 string field. */
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  /** An embedded message field. */
  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated varint field. */
  packedInts(field: number, xs: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const x of xs) inner.varint(x);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field. */
  packedFloats(field: number, xs: readonly number[]): this {
    const b = new Uint8Array(xs.length * 4);
    const dv = new DataView(b.buffer);
    xs.forEach((x, i) => dv.setFloat32(i * 4, x, true));
    return this.bytes(field, b);
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/**
 * One field read by {@link readFields}.
 * @example readFields(bytes)[0] // { field: 1, wire: 0, int: 300n }
 */
export interface ProtoField {
  readonly field: number;
  readonly wire: number;
  /** The varint value (wire 0), as a bigint. */
  readonly int?: bigint;
  /** The payload (wire 2), or the 4/8 raw bytes (wire 5/1). */
  readonly bytes?: Uint8Array;
}

/**
 * Reads the top-level fields of a serialized message. Throws on malformed input.
 * @example readFields(new ProtoWriter().int(1, 5).finish()) // [{ field: 1, wire: 0, int: 5n }]
 */
export const readFields = (b: Uint8Array): ProtoField[] => {
  const out: ProtoField[] = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= b.length) throw new Error('truncated varint');
      const byte = b[i++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < b.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ field, wire, int: varint() });
    else if (wire === 2) {
      const n = Number(varint());
      if (i + n > b.length) throw new Error('truncated field');
      out.push({ field, wire, bytes: b.subarray(i, i + n) });
      i += n;
    } else if (wire === 5 || wire === 1) {
      const n = wire === 5 ? 4 : 8;
      out.push({ field, wire, bytes: b.subarray(i, i + n) });
      i += n;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
};

/**
 * A tensor shape: dims, or `undefined` for unknown rank; -1 marks an unknown dimension.
 * @example [2, -1, 3] // or undefined for unknown rank
 */
export type ShapeValue = readonly number[] | undefined;

/**
 * An attribute value as lamina writes it.
 * @example { kind: 'type', value: TF_DTYPE.float32 }
 */
export type AttrValue =
  | { readonly kind: 's'; readonly value: Uint8Array | string }
  | { readonly kind: 'i'; readonly value: number }
  | { readonly kind: 'f'; readonly value: number }
  | { readonly kind: 'b'; readonly value: boolean }
  | { readonly kind: 'type'; readonly value: number }
  | { readonly kind: 'shape'; readonly value: ShapeValue }
  | { readonly kind: 'tensor'; readonly value: TensorValue }
  | { readonly kind: 'func'; readonly value: string }
  | { readonly kind: 'list_i'; readonly value: readonly number[] }
  | { readonly kind: 'list_f'; readonly value: readonly number[] }
  | { readonly kind: 'list_type'; readonly value: readonly number[] }
  | { readonly kind: 'list_shape'; readonly value: readonly ShapeValue[] }
  /** Already serialized AttrValue bytes (e.g. read back from the runtime). */
  | { readonly kind: 'raw'; readonly value: Uint8Array };

/**
 * A constant tensor: dtype, shape and little-endian raw content.
 * @example { dtype: TF_DTYPE.int32, shape: [2], content: new Uint8Array(Int32Array.of(1, 2).buffer) }
 */
export interface TensorValue {
  readonly dtype: number;
  readonly shape: readonly number[];
  readonly content: Uint8Array;
}

const writeShape = (w: ProtoWriter, shape: ShapeValue): void => {
  if (shape === undefined) {
    w.int(3, 1);
    return;
  }
  for (const d of shape) w.message(2, (dim) => (d === 0 ? undefined : dim.int(1, d)));
};

const writeTensor = (w: ProtoWriter, t: TensorValue): void => {
  w.int(1, t.dtype);
  w.message(2, (s) => writeShape(s, t.shape));
  if (t.content.length > 0) w.bytes(4, t.content);
};

/** Serializes a `tensorflow.AttrValue`. */
export const encodeAttrValue = (a: AttrValue): Uint8Array => {
  if (a.kind === 'raw') return a.value;
  const w = new ProtoWriter();
  switch (a.kind) {
    case 's':
      w.bytes(2, typeof a.value === 'string' ? new TextEncoder().encode(a.value) : a.value);
      break;
    case 'i':
      w.int(3, a.value);
      break;
    case 'f':
      w.float(4, a.value);
      break;
    case 'b':
      w.int(5, a.value ? 1 : 0);
      break;
    case 'type':
      w.int(6, a.value);
      break;
    case 'shape':
      w.message(7, (s) => writeShape(s, a.value));
      break;
    case 'tensor':
      w.message(8, (t) => writeTensor(t, a.value));
      break;
    case 'func':
      w.message(10, (f) => f.string(1, a.value));
      break;
    case 'list_i':
      w.message(1, (l) => (a.value.length ? l.packedInts(3, a.value) : undefined));
      break;
    case 'list_f':
      w.message(1, (l) => (a.value.length ? l.packedFloats(4, a.value) : undefined));
      break;
    case 'list_type':
      w.message(1, (l) => (a.value.length ? l.packedInts(6, a.value) : undefined));
      break;
    case 'list_shape':
      w.message(1, (l) => a.value.forEach((s) => l.message(7, (x) => writeShape(x, s))));
      break;
  }
  return w.finish();
};

/**
 * A graph node: `inputs` are `"node"`, `"node:index"` or `"^node"` (control) references.
 * @example { name: 'y', op: 'Mul', inputs: ['x', 'x'], attrs: { T: { kind: 'type', value: 1 } } }
 */
export interface NodeDefValue {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly string[];
  readonly attrs: ReadonlyMap<string, AttrValue> | Readonly<Record<string, AttrValue>>;
  readonly device?: string;
}

const attrEntries = (attrs: NodeDefValue['attrs']): [string, AttrValue][] =>
  (attrs instanceof Map ? [...attrs.entries()] : Object.entries(attrs)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

const writeNode = (w: ProtoWriter, n: NodeDefValue): void => {
  w.string(1, n.name).string(2, n.op);
  for (const i of n.inputs) w.string(3, i);
  if (n.device) w.string(4, n.device);
  for (const [k, v] of attrEntries(n.attrs)) w.message(5, (e) => e.string(1, k).bytes(2, encodeAttrValue(v)));
};

/**
 * The GraphDef producer version lamina writes (a TF 2.x graph; well above the minimum consumer).
 * @example encodeGraphDef(nodes) // versions { producer: GRAPH_PRODUCER }
 */
export const GRAPH_PRODUCER = 1700;

/**
 * Serializes a `tensorflow.GraphDef` of these nodes.
 * @example encodeGraphDef([{ name: 'x', op: 'Placeholder', inputs: [], attrs: { dtype: { kind: 'type', value: 1 } } }])
 */
export const encodeGraphDef = (nodes: readonly NodeDefValue[]): Uint8Array => {
  const w = new ProtoWriter();
  for (const n of nodes) w.message(1, (m) => writeNode(m, n));
  w.message(4, (v) => v.int(1, GRAPH_PRODUCER));
  return w.finish();
};

/**
 * Decodes a serialized `tensorflow.NameAttrList` (what `TFE_OpAttrsSerialize` returns) into its
 * op name and its attributes, each kept as raw AttrValue bytes.
 * @example decodeNameAttrList(bytes).attrs.get('T') // { kind: 'raw', value: Uint8Array }
 */
export const decodeNameAttrList = (b: Uint8Array): { name: string; attrs: Map<string, AttrValue> } => {
  let name = '';
  const attrs = new Map<string, AttrValue>();
  const dec = new TextDecoder();
  for (const f of readFields(b)) {
    if (f.field === 1 && f.bytes) name = dec.decode(f.bytes);
    else if (f.field === 2 && f.bytes) {
      let key = '';
      let value: Uint8Array = new Uint8Array(0);
      for (const e of readFields(f.bytes)) {
        if (e.field === 1 && e.bytes) key = dec.decode(e.bytes);
        else if (e.field === 2 && e.bytes) value = e.bytes.slice();
      }
      attrs.set(key, { kind: 'raw', value });
    }
  }
  return { name, attrs };
};

/**
 * Options of {@link encodeConfigProto}.
 * @example { collectiveGroupLeader: '/job:worker/replica:0/task:0' }
 */
export interface ConfigProtoOptions {
  /** `intra_op_parallelism_threads` (0 = TensorFlow's default). */
  readonly intraOpThreads?: number;
  /** `inter_op_parallelism_threads` (0 = TensorFlow's default). */
  readonly interOpThreads?: number;
  /** `experimental.collective_group_leader`, e.g. `/job:worker/replica:0/task:0`. */
  readonly collectiveGroupLeader?: string;
  /** `use_per_session_threads`. */
  readonly usePerSessionThreads?: boolean;
  /**
   * Grappler's optimizers (`graph_options.rewrite_options`), each `on`, `off` or `aggressive`;
   * unset ones keep TensorFlow's default.
   */
  readonly rewrite?: { readonly [K in GrapplerOptimizer]?: 'on' | 'off' | 'aggressive' };
  /** `rewrite_options.disable_meta_optimizer`: Grappler off altogether. */
  readonly disableMetaOptimizer?: boolean;
  /** `rewrite_options.meta_optimizer_iterations`: 1 or 2 passes of the optimizers (default 2). */
  readonly metaOptimizerIterations?: 1 | 2;
}

/**
 * Grappler optimizers by their `RewriterConfig` field number (`tensorflow/core/protobuf/rewriter_config.proto`).
 * @example GRAPPLER_OPTIMIZERS.remapping // 14
 */
export const GRAPPLER_OPTIMIZERS = {
  layout: 1,
  constantFolding: 3,
  memory: 4,
  arithmetic: 7,
  dependency: 8,
  loop: 9,
  function: 10,
  shape: 13,
  remapping: 14,
  commonSubgraphElimination: 24,
} as const;
/**
 * One of {@link GRAPPLER_OPTIMIZERS}.
 * @example const o: GrapplerOptimizer = 'remapping';
 */
export type GrapplerOptimizer = keyof typeof GRAPPLER_OPTIMIZERS;
const TOGGLE = { on: 1, off: 2, aggressive: 3 } as const;

/**
 * Serializes a `tensorflow.ConfigProto`. With no options it is empty, which Grappler reads as
 * "default optimizations"; its presence on a function call is what turns Grappler on.
 * @example encodeConfigProto({}) // Uint8Array(0)
 */
export const encodeConfigProto = (o: ConfigProtoOptions = {}): Uint8Array => {
  const w = new ProtoWriter();
  if (o.intraOpThreads) w.int(2, o.intraOpThreads);
  if (o.interOpThreads) w.int(5, o.interOpThreads);
  if (o.usePerSessionThreads) w.int(9, 1);
  const rewrite = Object.entries(o.rewrite ?? {}).filter(([, v]) => v !== undefined);
  if (rewrite.length || o.disableMetaOptimizer || o.metaOptimizerIterations) {
    w.message(10, (graph) =>
      graph.message(10, (rw) => {
        for (const [k, v] of rewrite.sort(([a], [b]) => GRAPPLER_OPTIMIZERS[a as GrapplerOptimizer] - GRAPPLER_OPTIMIZERS[b as GrapplerOptimizer])) rw.int(GRAPPLER_OPTIMIZERS[k as GrapplerOptimizer], TOGGLE[v as keyof typeof TOGGLE]);
        if (o.metaOptimizerIterations) rw.int(12, o.metaOptimizerIterations);
        if (o.disableMetaOptimizer) rw.int(19, 1);
      }),
    );
  }
  if (o.collectiveGroupLeader) {
    const leader = o.collectiveGroupLeader;
    w.message(16, (e) => e.string(1, leader));
  }
  return w.finish();
};

/**
 * What {@link encodeServerDef} needs: the cluster and this process's place in it.
 * @example { cluster: { worker: ['127.0.0.1:2222'] }, jobName: 'worker', taskIndex: 0 }
 */
export interface ServerDefOptions {
  /** Job name to task addresses (`host:port`), e.g. `{ worker: ['127.0.0.1:2222', '127.0.0.1:2223'] }`. */
  readonly cluster: Readonly<Record<string, readonly string[]>>;
  /** This process's job, e.g. `worker`. */
  readonly jobName: string;
  /** This process's index within its job. */
  readonly taskIndex: number;
  /** Transport; default `grpc`. */
  readonly protocol?: string;
  /** `default_session_config` (e.g. the collective group leader). */
  readonly config?: ConfigProtoOptions;
  /** The port to bind (default: the one in this task's address). */
  readonly port?: number;
}

/**
 * Serializes a `tensorflow.ServerDef`, as `TFE_EnableCollectiveOps` expects.
 * @example
 * ```ts
 * encodeServerDef({ cluster: { worker: ['127.0.0.1:2222', '127.0.0.1:2223'] }, jobName: 'worker', taskIndex: 0,
 *   config: { collectiveGroupLeader: '/job:worker/replica:0/task:0' } });
 * ```
 */
export const encodeServerDef = (o: ServerDefOptions): Uint8Array => {
  const w = new ProtoWriter();
  w.message(1, (cluster) => {
    for (const [job, tasks] of Object.entries(o.cluster).sort(([a], [b]) => (a < b ? -1 : 1))) {
      cluster.message(1, (j) => {
        j.string(1, job);
        tasks.forEach((addr, i) => j.message(2, (e) => e.int(1, i).string(2, addr)));
      });
    }
  });
  w.string(2, o.jobName);
  w.int(3, o.taskIndex);
  if (o.config) {
    const c = encodeConfigProto(o.config);
    w.bytes(4, c);
  }
  w.string(5, o.protocol ?? 'grpc');
  if (o.port !== undefined) w.int(6, o.port);
  return w.finish();
};
