/**
 * A hand-written protobuf encoder for the few TensorFlow messages a worker needs to join a
 * cluster: `ServerDef` → `ClusterDef` → `JobDef`, and the `ConfigProto.Experimental` fields
 * collectives read (`collective_group_leader`, optionally `coordination_config`). Field numbers are
 * those of TensorFlow 2.21's `tensorflow_server.proto`, `cluster.proto`, `config.proto` and
 * `xla/tsl/protobuf/coordination_config.proto` (checked against the descriptors embedded in the
 * libtensorflow the binding loads; see `test/distributed-proto.test.ts`).
 *
 * @example
 * ```ts
 * const bytes = encodeServerDef({ jobName: 'worker', taskIndex: 1, tasks: ['127.0.0.1:5000', '127.0.0.1:5001'] });
 * // TFE_EnableCollectiveOps(ctx, bytes)
 * ```
 * @module
 */

/** A `ServerDef` as lamina builds it: one job whose tasks are `host:port` strings, task i at index i. */
export interface ServerDefSpec {
  /** The job name (`worker`, as `MultiWorkerMirroredStrategy` names it). */
  readonly jobName: string;
  /** This process's task index in the job. */
  readonly taskIndex: number;
  /** `host:port` of every task of the job, in task order. */
  readonly tasks: readonly string[];
  /** Transport; `grpc` is the one TensorFlow ships. */
  readonly protocol?: string;
  /** `ConfigProto.experimental.collective_group_leader`, e.g. `/job:worker/replica:0/task:0`. */
  readonly collectiveGroupLeader?: string;
  /** `ConfigProto.experimental.coordination_config` (the coordination service), if wanted. */
  readonly coordination?: {
    readonly serviceType: string;
    readonly serviceLeader: string;
    readonly heartbeatTimeoutMs?: number;
    readonly shutdownBarrierTimeoutMs?: number;
  };
}

/** Protobuf field numbers used here (TensorFlow 2.21). */
export const FIELDS = {
  ServerDef: { cluster: 1, jobName: 2, taskIndex: 3, defaultSessionConfig: 4, protocol: 5 },
  ClusterDef: { job: 1 },
  JobDef: { name: 1, tasks: 2 },
  MapEntry: { key: 1, value: 2 },
  ConfigProto: { experimental: 16 },
  Experimental: { collectiveGroupLeader: 1, coordinationConfig: 23 },
  CoordinationServiceConfig: { serviceType: 1, serviceLeader: 2, heartbeatTimeoutMs: 5, shutdownBarrierTimeoutMs: 7 },
} as const;

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Varint encoding of a non-negative integer (up to 2^53). */
export const varint = (n: number): number[] => {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint needs a non-negative safe integer, got ${n}`);
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
};

const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);

/** A length-delimited field (string, bytes or embedded message). */
const lenField = (field: number, payload: readonly number[] | Uint8Array): number[] => [...tag(field, WIRE_LEN), ...varint(payload.length), ...payload];
const strField = (field: number, s: string): number[] => (s === '' ? [] : lenField(field, new TextEncoder().encode(s)));
/** proto3 scalars: the default value (0) is not written. */
const intField = (field: number, n: number): number[] => (n === 0 ? [] : [...tag(field, WIRE_VARINT), ...varint(n)]);

/** Encodes a {@link ServerDefSpec} as serialized `tensorflow.ServerDef` bytes. */
export const encodeServerDef = (s: ServerDefSpec): Uint8Array => {
  const F = FIELDS;
  const entries = s.tasks.flatMap((addr, i) => lenField(F.JobDef.tasks, [...intField(F.MapEntry.key, i), ...strField(F.MapEntry.value, addr)]));
  const job = [...strField(F.JobDef.name, s.jobName), ...entries];
  const cluster = lenField(F.ClusterDef.job, job);
  const coord = s.coordination
    ? lenField(F.Experimental.coordinationConfig, [
        ...strField(F.CoordinationServiceConfig.serviceType, s.coordination.serviceType),
        ...strField(F.CoordinationServiceConfig.serviceLeader, s.coordination.serviceLeader),
        ...intField(F.CoordinationServiceConfig.heartbeatTimeoutMs, s.coordination.heartbeatTimeoutMs ?? 0),
        ...intField(F.CoordinationServiceConfig.shutdownBarrierTimeoutMs, s.coordination.shutdownBarrierTimeoutMs ?? 0),
      ])
    : [];
  const experimental = [...strField(F.Experimental.collectiveGroupLeader, s.collectiveGroupLeader ?? ''), ...coord];
  const config = experimental.length ? lenField(F.ConfigProto.experimental, experimental) : [];
  return Uint8Array.from([
    ...lenField(F.ServerDef.cluster, cluster),
    ...strField(F.ServerDef.jobName, s.jobName),
    ...intField(F.ServerDef.taskIndex, s.taskIndex),
    ...(config.length ? lenField(F.ServerDef.defaultSessionConfig, config) : []),
    ...strField(F.ServerDef.protocol, s.protocol ?? 'grpc'),
  ]);
};
