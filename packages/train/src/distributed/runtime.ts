/**
 * A worker process's membership of a data-parallel group on TensorFlow's own collective runtime:
 * `TFE_EnableCollectiveOps` with a `ServerDef` (this starts the in-process gRPC server, before any
 * tensor exists), then gradients averaged with `CollectiveReduceV2` (merge `Add`, final `Div` by
 * the group size), packed into a few large reductions, with the same group and instance keys on
 * every worker (a counter advanced identically everywhere) and a timeout on each.
 *
 * @example
 * ```ts
 * const g = joinCluster({ kind: 'member', workers: ['127.0.0.1:5000', '127.0.0.1:5001'], taskIndex: 0, source: '--cluster' },
 *   { timeoutSeconds: 60, startupSeconds: 600, resumeHint: 'lamina pretrain --out runs/x --resume --workers 2' });
 * if (E.isRight(g)) { const avg = g.right.allReduce(tf.tensor1d([1, 2, 3])); }
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { checkCollectivePeer, enableCollectiveOps, encodeServerDef, nodeBackend, type NativeOpAttr } from '@lamina/dsl';
import { JOB_NAME, workerTask, type ClusterMember } from './cluster.js';
import { bytesToFloats, configDiff, floatsToString, groupError, type DataParallelGroup, type GroupError } from './group.js';

/** Options of {@link joinCluster}. */
export interface JoinOptions {
  /** Seconds a collective may wait for the other workers during training. */
  readonly timeoutSeconds: number;
  /** Seconds to wait for every worker to come up and agree at start-up. */
  readonly startupSeconds: number;
  /** The command that resumes the run on the same cluster. */
  readonly resumeHint: string;
  /** Largest reduction, in float32 elements (default 2^24 = 64 MB); larger vectors are split. */
  readonly maxPackElements?: number;
}

/** The one collective group lamina uses (all workers, CPU). */
const GROUP_KEY = 1;

/** What TensorFlow's collective errors say (status names and the messages of timeouts, aborts and lost connections). */
const COLLECTIVE_FAILURE = /collective|deadline|unavailable|timed? ?out|abort|socket|connect|peer|cancel/i;

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String((e as { message?: unknown })?.message ?? e)).split('\n')[0] ?? '';

/**
 * Enables collective ops for `m` (must run before any tensor exists) and returns the group.
 * A port in use or a malformed address is a left naming this worker.
 */
export const joinCluster = (m: ClusterMember, o: JoinOptions): E.Either<GroupError, DataParallelGroup> => {
  const me = m.taskIndex;
  const size = m.workers.length;
  const here = `worker ${me} at ${m.workers[me]}`;
  const be = nodeBackend();
  if (E.isLeft(be)) return E.left(groupError(`distributed training needs the native TensorFlow backend with lamina's patched binding: ${be.left.message}`));
  const enabled = enableCollectiveOps(encodeServerDef({ cluster: { [JOB_NAME]: m.workers }, jobName: JOB_NAME, taskIndex: me, config: { collectiveGroupLeader: workerTask(0) } }));
  if (E.isLeft(enabled)) return E.left(groupError(`${here} could not start TensorFlow's collective runtime: ${firstLine(enabled.left)}`));
  const backend = be.right;
  const B = backend.binding;
  const maxPack = o.maxPackElements ?? 2 ** 24;
  let instanceKey = 0;
  let reduceSeconds = 0;
  let reduceCalls = 0;

  const reduce = (x: tf.Tensor1D, finalOp: 'Div' | 'Id', timeoutSeconds: number): tf.Tensor1D => {
    const attrs: NativeOpAttr[] = [
      { name: 'T', type: B.TF_ATTR_TYPE, value: B.TF_FLOAT },
      { name: 'merge_op', type: B.TF_ATTR_STRING, value: 'Add' },
      { name: 'final_op', type: B.TF_ATTR_STRING, value: finalOp },
      { name: 'communication_hint', type: B.TF_ATTR_STRING, value: 'auto' },
      { name: 'timeout_seconds', type: B.TF_ATTR_FLOAT, value: timeoutSeconds },
    ];
    instanceKey += 1;
    const keys = [tf.scalar(size, 'int32'), tf.scalar(GROUP_KEY, 'int32'), tf.scalar(instanceKey, 'int32')];
    const t0 = performance.now();
    try {
      return backend.executeMultipleOutputs('CollectiveReduceV2', attrs, [x, ...keys], 1)[0] as tf.Tensor1D;
    } finally {
      reduceSeconds += (performance.now() - t0) / 1000;
      reduceCalls += 1;
      keys.forEach((k) => k.dispose());
    }
  };

  /** Which other worker does not answer a health check (undefined: all answer). */
  const unanswering = (timeoutMs: number): number | undefined => {
    for (let j = 0; j < size; j++) if (j !== me && E.isLeft(checkCollectivePeer(workerTask(j), timeoutMs))) return j;
    return undefined;
  };

  const waitForPeers = (): E.Either<GroupError, void> => {
    const deadline = performance.now() + o.startupSeconds * 1000;
    for (let j = 0; j < size; j++) {
      if (j === me) continue;
      for (;;) {
        const r = checkCollectivePeer(workerTask(j), 1000);
        if (E.isRight(r)) break;
        if (performance.now() > deadline) return E.left(groupError(`worker ${j} at ${m.workers[j]} did not come up within ${o.startupSeconds}s (${firstLine(r.left)})`));
        sleepSync(200);
      }
    }
    return E.right(undefined);
  };

  /** The sum over the workers of `values` (merge Add, final op Id), on every worker. */
  const sumAll = (values: Float32Array, timeoutSeconds: number): Float32Array => {
    const t = tf.tensor1d(values, 'float32');
    const r = reduce(t, 'Id', timeoutSeconds);
    const out = r.dataSync() as Float32Array;
    t.dispose();
    r.dispose();
    return out;
  };
  /** Task 0's values, on every worker (the others add zeros). */
  const fromChief = (values: Float32Array, timeoutSeconds: number): Float32Array => sumAll(me === 0 ? values : new Float32Array(values.length), timeoutSeconds);

  const agree = (identity: string): E.Either<GroupError, void> => {
    const up = waitForPeers();
    if (E.isLeft(up)) return up;
    try {
      const mine = bytesToFloats(identity);
      const len = fromChief(Float32Array.of(mine.length), o.startupSeconds)[0] as number;
      const chief = floatsToString(fromChief(me === 0 ? mine : new Float32Array(len), o.startupSeconds));
      const diffs = chief === identity ? [] : configDiff(JSON.parse(identity), JSON.parse(chief));
      const flags = new Float32Array(size);
      flags[me] = chief === identity ? 0 : 1;
      // every worker sets only its own slot: the sum is the vector of all flags
      const who = Array.from(sumAll(flags, o.startupSeconds)).flatMap((x, j) => (x > 0 ? [j] : []));
      if (chief !== identity)
        return E.left(groupError(`${here} refused: its resolved config differs from task 0's: ${diffs.slice(0, 4).join('; ')}${diffs.length > 4 ? ` (+${diffs.length - 4} more)` : ''}`, 2));
      if (who.length) return E.left(groupError(`${who.map((j) => `worker ${j} at ${m.workers[j]}`).join(', ')} refused at start-up: its resolved config differs from task 0's (see its message)`, 2));
      return E.right(undefined);
    } catch (e) {
      const lost = unanswering(3000);
      return E.left(groupError(lost === undefined ? `the workers could not agree at start-up: ${firstLine(e)}` : `worker ${lost} at ${m.workers[lost]} stopped answering at start-up`));
    }
  };

  return E.right({
    size,
    taskIndex: me,
    workers: m.workers,
    resumeHint: o.resumeHint,
    allReduce: (flat) => {
      if (flat.size <= maxPack) return reduce(flat, 'Div', o.timeoutSeconds);
      const sizes: number[] = [];
      for (let at = 0; at < flat.size; at += maxPack) sizes.push(Math.min(maxPack, flat.size - at));
      return tf.tidy(() => tf.concat(tf.split(flat, sizes).map((p) => reduce(p as tf.Tensor1D, 'Div', o.timeoutSeconds))) as tf.Tensor1D);
    },
    agree: (identity) => (size === 1 ? E.right(undefined) : agree(identity)),
    describeFailure: (e, step) => {
      if (!COLLECTIVE_FAILURE.test(firstLine(e))) return undefined;
      const lost = unanswering(3000) ?? (size === 2 ? 1 - me : undefined);
      const who = lost === undefined ? `a worker stopped answering (${firstLine(e)})` : `worker ${lost} at ${m.workers[lost]} stopped answering`;
      return `${who} at step ${step}; the last checkpoint is intact; resume with: ${o.resumeHint}`;
    },
    sumAll: (values) => sumAll(values, o.timeoutSeconds),
    allReduceSeconds: () => reduceSeconds,
    allReduceCalls: () => reduceCalls,
  });
};
