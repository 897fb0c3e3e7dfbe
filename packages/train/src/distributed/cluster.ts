/**
 * The cluster a training process belongs to, resolved from `--workers N`, `--cluster
 * host:port,… --task-index i` or the `TF_CONFIG` environment variable (TensorFlow's convention)
 * into one validated value. Errors are values naming the flag and what was expected.
 *
 * @example
 * ```ts
 * const r = resolveCluster({ cluster: '10.0.0.1:2222,10.0.0.2:2222', taskIndex: '1' });
 * // Right({ kind: 'member', workers: ['10.0.0.1:2222', '10.0.0.2:2222'], taskIndex: 1, source: '--cluster' })
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';

/** This process is task `taskIndex` of a cluster of `workers.length` worker processes. */
export interface ClusterMember {
  readonly kind: 'member';
  /** `host:port` of every worker, task i at index i. */
  readonly workers: readonly string[];
  readonly taskIndex: number;
  readonly source: '--cluster' | 'TF_CONFIG';
}

/** This process launches `count` local workers over loopback (`--workers N`). */
export interface LocalLaunch {
  readonly kind: 'launch';
  readonly count: number;
}

/** What a training command runs as. */
export type ClusterPlan = { readonly kind: 'single' } | LocalLaunch | ClusterMember;

/** A cluster description that cannot be used. */
export interface ClusterError {
  readonly _tag: 'ClusterError';
  readonly message: string;
}
const clusterError = (message: string): ClusterError => ({ _tag: 'ClusterError', message });

/** The raw inputs: flag values as given, and the environment's `TF_CONFIG`. */
export interface ClusterInputs {
  readonly workers?: string | undefined;
  readonly cluster?: string | undefined;
  readonly taskIndex?: string | undefined;
  readonly tfConfig?: string | undefined;
}

/** The job name every lamina worker runs under (TensorFlow devices `/job:worker/replica:0/task:i`). */
export const JOB_NAME = 'worker';

/** Most workers `--workers` launches on one machine. */
export const MAX_LOCAL_WORKERS = 64;

/** Checks one `host:port` address. */
export const parseAddress = (s: string, what: string): E.Either<ClusterError, { host: string; port: number }> => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s.trim());
  if (!m) return E.left(clusterError(`${what}: "${s}" is not host:port`));
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return E.left(clusterError(`${what}: port ${port} of "${s}" is outside 1..65535`));
  return E.right({ host: m[1] as string, port });
};

const checkWorkers = (list: readonly string[], what: string): E.Either<ClusterError, string[]> => {
  if (list.length === 0) return E.left(clusterError(`${what} names no worker`));
  const out: string[] = [];
  for (const [i, a] of list.entries()) {
    const p = parseAddress(a, `${what} entry ${i}`);
    if (E.isLeft(p)) return p;
    const norm = `${p.right.host}:${p.right.port}`;
    if (out.includes(norm)) return E.left(clusterError(`${what}: ${norm} is listed twice (every worker needs its own host:port)`));
    out.push(norm);
  }
  return E.right(out);
};

const checkIndex = (n: number, size: number, what: string): E.Either<ClusterError, number> =>
  Number.isInteger(n) && n >= 0 && n < size ? E.right(n) : E.left(clusterError(`${what} must be an integer in 0..${size - 1} for a cluster of ${size}, got ${JSON.stringify(n)}`));

/** Reads TensorFlow's `TF_CONFIG` JSON: `{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}}`. */
export const parseTfConfig = (json: string): E.Either<ClusterError, ClusterMember> => {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    return E.left(clusterError(`TF_CONFIG is not JSON: ${e instanceof Error ? e.message : String(e)}`));
  }
  const o = v as { cluster?: Record<string, unknown>; task?: { type?: unknown; index?: unknown } } | null;
  if (typeof o !== 'object' || o === null || typeof o.cluster !== 'object' || o.cluster === null) return E.left(clusterError('TF_CONFIG needs a "cluster" object'));
  const jobs = Object.keys(o.cluster).filter((k) => k !== JOB_NAME);
  if (jobs.length) return E.left(clusterError(`TF_CONFIG: only a "${JOB_NAME}" job is supported (all workers are peers, task 0 is the chief), found ${jobs.map((j) => `"${j}"`).join(', ')}`));
  const w = o.cluster[JOB_NAME];
  if (!Array.isArray(w) || !w.every((x) => typeof x === 'string')) return E.left(clusterError(`TF_CONFIG: cluster.${JOB_NAME} must be a list of "host:port" strings`));
  if (typeof o.task !== 'object' || o.task === null) return E.left(clusterError('TF_CONFIG needs a "task" object: {"type": "worker", "index": i}'));
  if (o.task.type !== JOB_NAME) return E.left(clusterError(`TF_CONFIG: task.type must be "${JOB_NAME}", got ${JSON.stringify(o.task.type)}`));
  const workers = checkWorkers(w as string[], 'TF_CONFIG cluster.worker');
  if (E.isLeft(workers)) return workers;
  const idx = checkIndex(o.task.index as number, workers.right.length, 'TF_CONFIG task.index');
  if (E.isLeft(idx)) return idx;
  return E.right({ kind: 'member', workers: workers.right, taskIndex: idx.right, source: 'TF_CONFIG' });
};

/**
 * Resolves the flags and `TF_CONFIG` into one plan. Flags win over `TF_CONFIG`; `--workers` and
 * `--cluster` exclude each other; `--task-index` needs `--cluster`. `--workers 1` (or nothing) is
 * an ordinary single process.
 */
export const resolveCluster = (i: ClusterInputs): E.Either<ClusterError, ClusterPlan> => {
  if (i.workers !== undefined && i.cluster !== undefined) return E.left(clusterError('--workers and --cluster exclude each other: --workers N launches N local workers, --cluster names the workers of a multi-machine run'));
  if (i.taskIndex !== undefined && i.cluster === undefined) return E.left(clusterError('--task-index needs --cluster host:port,host:port,…'));
  if (i.workers !== undefined) {
    const n = i.workers.trim() === '' ? NaN : Number(i.workers);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LOCAL_WORKERS) return E.left(clusterError(`--workers must be an integer in 1..${MAX_LOCAL_WORKERS}, got "${i.workers}"`));
    return E.right(n === 1 ? { kind: 'single' } : { kind: 'launch', count: n });
  }
  if (i.cluster !== undefined) {
    const workers = checkWorkers(i.cluster.split(','), '--cluster');
    if (E.isLeft(workers)) return workers;
    if (i.taskIndex === undefined) return E.left(clusterError(`--cluster needs --task-index (0..${workers.right.length - 1}): which worker this host is`));
    const n = i.taskIndex.trim() === '' ? NaN : Number(i.taskIndex);
    const idx = checkIndex(n, workers.right.length, '--task-index');
    if (E.isLeft(idx)) return E.left(clusterError(`${idx.left.message.replace(/got .*$/, `got "${i.taskIndex}"`)}`));
    return E.right({ kind: 'member', workers: workers.right, taskIndex: idx.right, source: '--cluster' });
  }
  if (i.tfConfig !== undefined && i.tfConfig.trim() !== '') return parseTfConfig(i.tfConfig);
  return E.right({ kind: 'single' });
};

/** The TensorFlow device name of task `i`'s CPU. */
export const workerDevice = (i: number): string => `/job:${JOB_NAME}/replica:0/task:${i}/device:CPU:0`;

/** The TensorFlow task name of task `i` (the collective group leader is task 0's). */
export const workerTask = (i: number): string => `/job:${JOB_NAME}/replica:0/task:${i}`;

/** The `TF_CONFIG` value equivalent to a cluster member (for the README and the resume hint). */
export const tfConfigOf = (m: Pick<ClusterMember, 'workers' | 'taskIndex'>): string => JSON.stringify({ cluster: { [JOB_NAME]: m.workers }, task: { type: JOB_NAME, index: m.taskIndex } });
