/**
 * What the training loop needs from a data-parallel group of worker processes, independent of how
 * the group talks (TensorFlow collectives in `runtime.ts`): its size and this worker's place, a
 * gradient average, a start-up agreement on the resolved config, and the one-line description of
 * a lost worker. Also the pure helpers behind the agreement: config flattening and diff.
 *
 * @example
 * ```ts
 * configDiff({ batchSize: 8, data: { seed: 1 } }, { batchSize: 16, data: { seed: 1 } });
 * // ['batchSize: 16 here, 8 on task 0']
 * ```
 * @module
 */
import type * as tf from '@tensorflow/tfjs';
import type * as E from 'fp-ts/lib/Either.js';

/** A start-up or step failure of the group, as one readable line and an exit code (2: the user's input). */
export interface GroupError {
  readonly _tag: 'GroupError';
  readonly message: string;
  readonly code: 1 | 2;
}

/**
 * Thrown when the group fails outside a training step (e.g. a worker is lost during a sharded
 * evaluation); its message is the group's one line ({@link DataParallelGroup.describeFailure}).
 * The CLI prints it as it is and exits 1.
 * @example throw new GroupFailure('worker 1 at 127.0.0.1:5001 stopped answering at step 40; …');
 */
export class GroupFailure extends Error {}

/** Builds a {@link GroupError}. */
export const groupError = (message: string, code: 1 | 2 = 1): GroupError => ({ _tag: 'GroupError', message, code });

/** A data-parallel group of worker processes, seen from one of them. */
export interface DataParallelGroup {
  /** Number of workers. */
  readonly size: number;
  /** This worker's task index; task 0 is the chief (the only writer). */
  readonly taskIndex: number;
  /** `host:port` of every worker, in task order. */
  readonly workers: readonly string[];
  /** The command that resumes this run on the same cluster (for failure messages). */
  readonly resumeHint: string;
  /**
   * The average of `flat` over the workers (the same value on every worker). Throws when a worker
   * is lost or the collective times out; {@link DataParallelGroup.describeFailure} names who.
   */
  allReduce(flat: tf.Tensor1D): tf.Tensor1D;
  /**
   * Compares this worker's resolved run identity (canonical JSON) with task 0's. Left, naming the
   * differences, when any worker differs (every worker gets a left then, so all stop).
   */
  agree(identity: string): E.Either<GroupError, void>;
  /**
   * The one-line message for an error thrown during `step` when it is the group's failure (a lost
   * or silent worker, a collective timeout); undefined for any other error.
   */
  describeFailure(e: unknown, step: number): string | undefined;
  /**
   * The sum of `values` over the workers (exact where at most one worker holds a nonzero value
   * in each slot: x + 0 = x), on every worker; throws as {@link DataParallelGroup.allReduce} does.
   * Sharded evaluation gathers per-batch results with it.
   */
  sumAll(values: Float32Array): Float32Array;
  /**
   * Seconds spent inside all-reduces issued from the host so far (waiting included). An
   * all-reduce inside a traced step function is not among them: it cannot be timed apart.
   */
  allReduceSeconds(): number;
  /** How many all-reduces were issued from the host so far (unchanged over a graph step). */
  allReduceCalls(): number;
}

/** The leaves of a JSON value as `path → JSON text` (arrays by index; `undefined` fields dropped). */
export const flattenJson = (v: unknown, prefix = ''): Map<string, string> => {
  const out = new Map<string, string>();
  const walk = (x: unknown, p: string): void => {
    if (x !== null && typeof x === 'object') {
      const entries = Array.isArray(x) ? x.map((y, i) => [String(i), y] as const) : Object.entries(x as Record<string, unknown>);
      if (entries.length === 0) out.set(p, Array.isArray(x) ? '[]' : '{}');
      for (const [k, y] of entries) if (y !== undefined) walk(y, p ? `${p}.${k}` : k);
    } else out.set(p, JSON.stringify(x));
  };
  walk(v, prefix);
  return out;
};

/**
 * The differences between this worker's config (`mine`) and task 0's (`chief`), one phrase per
 * differing leaf, in path order.
 */
export const configDiff = (mine: unknown, chief: unknown): string[] => {
  const a = flattenJson(mine);
  const b = flattenJson(chief);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: string[] = [];
  for (const k of keys) {
    const x = a.get(k);
    const y = b.get(k);
    if (x === y) continue;
    out.push(`${k || '(config)'}: ${x ?? 'unset'} here, ${y ?? 'unset'} on task 0`);
  }
  return out;
};

/** UTF-8 bytes as float32 values (exact: every byte is an integer below 2^24). */
export const bytesToFloats = (s: string): Float32Array => Float32Array.from(new TextEncoder().encode(s));

/** The inverse of {@link bytesToFloats}. */
export const floatsToString = (f: ArrayLike<number>): string => new TextDecoder().decode(Uint8Array.from(Array.from(f, (x) => Math.round(x))));
