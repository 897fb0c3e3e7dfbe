/**
 * What any training command on the shared loop (`core/loop.ts`) needs to run as one worker of a
 * data-parallel group: this worker's share of every global micro-batch (any {@link Feed}, rows
 * split as in `shard.ts`), the {@link ParallelContext} that normalises the share losses by the
 * global batch's totals and averages the gradients over the group, the loop's collective hooks,
 * and the silent reporter and logger of a worker that is not task 0 (only task 0 writes).
 *
 * @example
 * ```ts
 * const batches = workerGroup ? dataParallelBatches(workerGroup, objective, nextGlobal, cursor) : { next: () => nextGlobal(), cursor };
 * const collective = workerGroup ? loopCollective(workerGroup) : undefined; // runLoop's `batches` and `collective`
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { JsonValue } from '../checkpoint.js';
import type { LoopBatches, LoopCollective } from '../core/loop.js';
import type { Feed, HostTensor } from '../core/step.js';
import type { MetricsLogger } from '../metrics.js';
import type { TrainingObjective } from '../objectives/index.js';
import type { Progress } from '../progress.js';
import { GroupFailure, type DataParallelGroup } from './group.js';
import { shareRows } from './shard.js';

/** Rows `[start·k, end·k)` of a host tensor whose first dimension is `k` rows per example. */
const sliceRows = (h: HostTensor, rows: number, start: number, end: number, what: string): HostTensor => {
  const d0 = h.shape[0] ?? 0;
  if (d0 % rows !== 0) throw new Error(`${what}: its first dimension ${d0} is not a multiple of the batch's ${rows} rows, so it cannot be shared between workers`);
  const k = d0 / rows;
  const width = d0 === 0 ? 0 : h.data.length / d0;
  return { dtype: h.dtype, shape: [(end - start) * k, ...h.shape.slice(1)], data: h.data.slice(start * k * width, end * k * width) as Int32Array & Float32Array };
};

/**
 * Worker `task` of `workers`'s share of a global batch: the rows {@link shareRows} gives, of every
 * input and target (a tensor with `k·B` leading rows, e.g. flattened `[B·S]` labels, keeps `k`
 * per example). The batch size B is the first input's first dimension.
 * @example shareFeed(feed, 2, 1) // rows 4..7 of a batch of 8
 */
export const shareFeed = (feed: Feed, workers: number, task: number): Feed => {
  const first = Object.values(feed.inputs)[0];
  const rows = first?.shape[0] ?? 0;
  const { start, end } = shareRows(rows, workers, task);
  const slice = (xs: Readonly<Record<string, HostTensor>>) => Object.fromEntries(Object.entries(xs).map(([k, h]) => [k, sliceRows(h, rows, start, end, k)]));
  return { inputs: slice(feed.inputs), targets: slice(feed.targets), tokens: rows === 0 ? 0 : Math.round((feed.tokens * (end - start)) / rows) };
};

/**
 * The loop's batches for one worker of `group`: `next` draws the global micro-batches (every worker
 * draws the same ones, from the same cursor), keeps this worker's shares and sends the global
 * totals, the gradient average and the stop flag along; `tokens` is the global batch's.
 * @example dataParallelBatches(group, objective, () => [stream.next()], () => stream.cursor())
 */
export const dataParallelBatches = (group: DataParallelGroup, objective: TrainingObjective, nextGlobal: () => readonly Feed[], cursor: () => JsonValue): LoopBatches => {
  const totalsOf = objective.globalTotals;
  if (!totalsOf) throw new Error(`the ${objective.name} objective cannot be shared between workers (it has no global totals)`);
  return {
    next: (stop) => {
      const global = nextGlobal();
      return {
        micro: global.map((f) => shareFeed(f, group.size, group.taskIndex)),
        parallel: { workers: group.size, totals: global.map((f) => totalsOf(f)), allReduce: (v) => group.allReduce(v), extras: [stop ? 1 : 0] },
        tokens: global.reduce((a, f) => a + f.tokens, 0),
      };
    },
    cursor,
  };
};

/** Every how many steps a graph step's all-reduce is probed (see {@link loopCollective}). */
export const PROBE_EVERY = 10;

/**
 * The loop's view of a group: task 0 is the chief (it alone checkpoints), a lost worker becomes one
 * line, and all-reduce time is recorded per step: `allreduce_seconds` for a step that issues its
 * all-reduce from the host (eager). A graph step's all-reduce is a node of its function and cannot
 * be timed apart, so it writes none; instead every `probeEvery` steps (all workers at the same
 * steps) one all-reduce of the gradient's size (zeros) runs alone and its wall time is written as
 * `allreduce_probe_seconds`: what the step's reduction costs on this cluster, not a part of
 * that step's `step_seconds` (the probe runs after the step is timed).
 * @example runLoop({ …, collective: loopCollective(group) })
 */
export const loopCollective = (group: DataParallelGroup, probeEvery = PROBE_EVERY): LoopCollective => ({
  chief: group.taskIndex === 0,
  describeFailure: (e, s) => group.describeFailure(e, s),
  allReduceSeconds: () => group.allReduceSeconds(),
  allReduceCalls: () => group.allReduceCalls(),
  probe: (step, elements) => {
    if (probeEvery <= 0 || step % probeEvery !== 0) return undefined;
    const zeros = tf.zeros([elements]) as tf.Tensor1D;
    const t0 = performance.now();
    try {
      const r = group.allReduce(zeros);
      r.dataSync();
      r.dispose();
      return (performance.now() - t0) / 1000;
    } finally {
      zeros.dispose();
    }
  },
});

/**
 * The reporter of a worker that is not task 0: it says nothing (task 0 speaks for the group).
 * @example const progress = chief ? createProgress(o) : silentProgress;
 */
export const silentProgress: Progress = { update: () => undefined, log: () => undefined, error: () => undefined, finish: () => undefined };

/**
 * The metrics logger of a worker that is not task 0: it writes nothing.
 * @example const log = chief ? openMetricsLogger(o) : E.right(silentLogger);
 */
export const silentLogger: MetricsLogger = { log: () => E.right(undefined), tensorboard: false, flush: () => undefined, close: () => undefined };

/**
 * Sharded evaluation: the results of items `0 … count−1` (e.g. held-out batches), each computed
 * by one worker only (item i by task i mod size), then gathered on every worker by one
 * {@link DataParallelGroup.sumAll} of a vector where each item's slot is nonzero on its worker
 * only, so every value arrives exactly (x + 0 = x): the figures are those of one process
 * computing every item, in the same order. Without a group (or with one worker) it computes
 * every item. `sizes` gives each item's length; without it all items have the length of this
 * worker's first result (a worker with no item computes item 0 to learn it). Every worker must
 * call it at the same point (it is a collective); a lost worker throws a {@link GroupFailure}.
 * @example const sums = await shardedResults(group, heldOut.length, (i) => evalSumsOf(forward, objective, params, heldOut[i]!));
 */
export const shardedResults = async (
  group: DataParallelGroup | undefined,
  count: number,
  compute: (i: number) => Promise<ArrayLike<number>>,
  sizes?: readonly number[],
  /** The training step the evaluation follows (named when a worker is lost: a {@link GroupFailure}). */
  step = 0,
): Promise<Float32Array[]> => {
  const size = group?.size ?? 1;
  const task = group?.taskIndex ?? 0;
  const mine = new Map<number, ArrayLike<number>>();
  for (let i = task; i < count; i += size) mine.set(i, await compute(i));
  if (!group || size === 1) return Array.from({ length: count }, (_, i) => Float32Array.from(mine.get(i) ?? []));
  if (count === 0) return [];
  const first = mine.values().next();
  const width = sizes ? 0 : first.done ? (await compute(0)).length : first.value.length;
  const lengths = Array.from({ length: count }, (_, i) => sizes?.[i] ?? width);
  const offsets = lengths.map((_, i) => lengths.slice(0, i).reduce((a, n) => a + n, 0));
  const flat = new Float32Array(lengths.reduce((a, n) => a + n, 0));
  for (const [i, r] of mine) {
    if (r.length !== lengths[i]) throw new Error(`sharded evaluation: item ${i} has ${r.length} values, expected ${lengths[i]}`);
    flat.set(r, offsets[i]);
  }
  let all: Float32Array;
  try {
    all = group.sumAll(flat);
  } catch (e) {
    const lost = group.describeFailure(e, step);
    throw lost === undefined ? e : new GroupFailure(lost);
  }
  return lengths.map((n, i) => all.slice(offsets[i], (offsets[i] as number) + n));
};
