/**
 * The one training loop: schedule, step, metrics (metrics.jsonl + TensorBoard through a
 * {@link MetricsLogger}), progress, evaluation cadence, atomic checkpoints (data cursor and
 * optimizer state included, so a resumed run continues exactly), a NaN guard, and SIGINT/SIGTERM
 * → finish the step, checkpoint, return. Pretraining, fine-tuning and `lamina train` all run on it;
 * what differs between them is the {@link TrainStep}, the batches and the evaluation.
 *
 * @example
 * ```ts
 * const r = await withInterrupts(progress, (stop) => runLoop({ runDir, state, step, batches, startStep: 0, totalSteps: 100, lr: (s) => lrAt(s, schedule),
 *   evalEvery: 50, checkpointEvery: 50, keepLast: 3, checkpoint: { configHash, seed }, log, progress, interrupted: stop }));
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import path from 'node:path';
import { saveCheckpoint, checkpointDirName, CHECKPOINTS_DIR, type JsonValue } from '../checkpoint.js';
import type { MetricsLogger } from '../metrics.js';
import type { Progress } from '../progress.js';
import { readStepMetrics, type Feed, type ParallelContext, type TrainState, type TrainStep } from './step.js';

/**
 * Where the loop's batches come from: the micro-batches of the next step, and a JSON cursor that
 * restarts the stream at the same place (saved in every checkpoint).
 * @example { next: () => [feedOf(it.next().value)], cursor: () => it.state() }
 */
export interface LoopBatches {
  /**
   * The next step's micro-batches. In a data-parallel group: this worker's shares, with the
   * {@link ParallelContext} of the global ones (`stop` is this worker's stop request, to send
   * along) and the global token count.
   */
  next(stop: boolean): readonly Feed[] | { readonly micro: readonly Feed[]; readonly parallel?: ParallelContext; readonly tokens?: number };
  cursor(): JsonValue;
}

/**
 * A loop run by one worker of a data-parallel group: only the chief writes checkpoints; a stop
 * request travels with the gradients, so every worker stops after the same step.
 * @example { chief: group.taskIndex === 0, describeFailure: (e, s) => group.describeFailure(e, s) }
 */
export interface LoopCollective {
  readonly chief: boolean;
  /** A failed step as one line (e.g. a worker was lost), or undefined to rethrow. */
  readonly describeFailure: (e: unknown, step: number) => string | undefined;
  /** Seconds spent in host-issued all-reduces so far (metrics.jsonl's `allreduce_seconds` is its change over a step). */
  readonly allReduceSeconds?: () => number;
  /** Host-issued all-reduces so far: a step that issued none (a graph step) writes no `allreduce_seconds`. */
  readonly allReduceCalls?: () => number;
  /**
   * After a step whose all-reduce ran inside its graph: every worker calls it (same steps); at
   * probe steps it times one all-reduce of `elements` floats alone (metrics.jsonl's
   * `allreduce_probe_seconds`), else undefined.
   */
  readonly probe?: (step: number, elements: number) => number | undefined;
}

/**
 * What {@link runLoop} runs.
 * @example see the module example
 */
export interface LoopSpec {
  readonly runDir: string;
  readonly state: TrainState;
  readonly step: TrainStep;
  readonly batches: LoopBatches;
  /** Steps already done (a resumed run). */
  readonly startStep: number;
  readonly totalSteps: number;
  /** The learning rate of a step (the schedule). */
  readonly lr: (step: number) => number;
  /** Evaluate every N steps before the last (0: never inside the loop). */
  readonly evalEvery: number;
  /** Checkpoint every N steps before the last (0: only at the end). */
  readonly checkpointEvery: number;
  readonly keepLast: number;
  /** Runs and logs an evaluation at a step. */
  readonly evaluate?: (step: number) => Promise<void>;
  /** Stored with every checkpoint: the config hash resume checks, the seed, trainer extras. */
  readonly checkpoint: { readonly configHash: string; readonly seed: number; readonly trainer?: JsonValue };
  readonly log: MetricsLogger;
  readonly progress: Progress;
  /** What a step writes to metrics.jsonl, from its metrics (`loss`, parts, `grad_norm`) and lr (default: those plus `lr`). */
  readonly record?: (values: Readonly<Record<string, number>>, lr: number, step: number) => Record<string, number>;
  /** Whether a stop was asked for (checked after every step). */
  readonly interrupted: () => boolean;
  /** The newest checkpoint already on disk (a resumed run's). */
  readonly lastCheckpoint?: string;
  /** Set when this loop is one worker of a data-parallel group. */
  readonly collective?: LoopCollective;
}

/**
 * How a loop ended.
 * @example { step: 100, interrupted: false, lastCheckpoint: 'run/checkpoints/step-000100' }
 */
export interface LoopEnd {
  readonly step: number;
  readonly interrupted: boolean;
  readonly lastCheckpoint: string;
}

/**
 * Why a loop stopped early: a non-finite loss (the run is left at its last good checkpoint) or
 * a checkpoint that could not be written.
 * @example { kind: 'non-finite', step: 12, loss: NaN, lastCheckpoint: undefined, message: '…' }
 */
export interface LoopFailure {
  readonly kind: 'non-finite' | 'checkpoint' | 'collective';
  readonly step: number;
  readonly lastCheckpoint: string | undefined;
  readonly message: string;
}

/**
 * Runs steps `startStep+1 … totalSteps` (or until interrupted), then writes a final checkpoint
 * unless one for that step exists. Evaluations inside the loop happen every `evalEvery` steps
 * before the last; the initial and final evaluations are the caller's.
 * @example const end = await runLoop(spec); if (E.isRight(end)) console.log(end.right.step);
 */
export const runLoop = async (spec: LoopSpec): Promise<E.Either<LoopFailure, LoopEnd>> => {
  const { progress, log } = spec;
  let lastCheckpoint = spec.lastCheckpoint;
  let step = spec.startStep;
  const chief = spec.collective?.chief ?? true;
  const save = async (): Promise<E.Either<LoopFailure, void>> => {
    // a worker that is not the chief writes nothing; the chief writes this step's checkpoint
    if (!chief) {
      lastCheckpoint = path.join(spec.runDir, CHECKPOINTS_DIR, checkpointDirName(step));
      return E.right(undefined);
    }
    const opt = spec.state.optimizer.state();
    const r = await saveCheckpoint(
      spec.runDir,
      {
        step,
        params: spec.state.params,
        optimizer: opt,
        rng: { seed: spec.checkpoint.seed },
        dataCursor: spec.batches.cursor(),
        configHash: spec.checkpoint.configHash,
        ...(spec.checkpoint.trainer === undefined ? {} : { trainer: spec.checkpoint.trainer }),
      },
      { keepLast: spec.keepLast },
    );
    Object.values(opt).forEach((x) => x.dispose());
    if (E.isLeft(r)) return E.left({ kind: 'checkpoint', step, lastCheckpoint, message: `checkpoint failed: ${r.left.message}` });
    lastCheckpoint = r.right.dir;
    progress.log(`checkpoint: ${path.relative(process.cwd(), r.right.dir) || r.right.dir}`);
    return E.right(undefined);
  };
  const record = spec.record ?? ((v, lr) => ({ ...v, lr }));
  // in a group a local signal only raises the flag sent with the next step; all stop together
  let stopAgreed = false;
  const stopped = () => (spec.collective ? stopAgreed : spec.interrupted());
  while (step < spec.totalSteps && !stopped()) {
    const lr = spec.lr(step);
    const b = spec.batches.next(spec.interrupted());
    const micro = 'micro' in b ? b.micro : (b as readonly Feed[]);
    const parallel = 'micro' in b ? b.parallel : undefined;
    let m: ReturnType<TrainStep>;
    const stepStart = performance.now();
    const commStart = spec.collective?.allReduceSeconds?.() ?? 0;
    const callsStart = spec.collective?.allReduceCalls?.();
    try {
      m = spec.step(spec.state, micro, { lr, step, ...(parallel ? { parallel } : {}) });
    } catch (e) {
      const lost = spec.collective?.describeFailure(e, step + 1);
      if (lost === undefined) throw e;
      return E.left({ kind: 'collective', step, lastCheckpoint, message: lost });
    }
    const values = await readStepMetrics(m);
    const extras = m.extras ? Array.from(await m.extras.data()) : [];
    m.dispose();
    // wall time of the step (the host sync of its metrics included) and, in a group, the part spent in all-reduces
    const comm = spec.collective?.allReduceSeconds;
    // a graph step's all-reduce is inside its function: not timed apart, so not written (a probe may time one alone)
    const inGraph = callsStart !== undefined && spec.collective?.allReduceCalls?.() === callsStart;
    const timing: Record<string, number> = { step_seconds: (performance.now() - stepStart) / 1000, ...(comm && !inGraph ? { allreduce_seconds: comm() - commStart } : {}) };
    if (inGraph && spec.collective?.probe) {
      try {
        const p = spec.collective.probe(step + 1, Object.values(spec.state.params).reduce((a, v) => a + v.size, 0));
        if (p !== undefined) timing.allreduce_probe_seconds = p;
      } catch (e) {
        const lost = spec.collective.describeFailure(e, step + 1);
        if (lost === undefined) throw e;
        return E.left({ kind: 'collective', step, lastCheckpoint, message: lost });
      }
    }
    if ((extras[0] ?? 0) > 0) {
      if (!spec.interrupted()) progress.log('interrupt on another worker: saving a checkpoint');
      stopAgreed = true;
    }
    const tokens = 'micro' in b && b.tokens !== undefined ? b.tokens : m.tokens;
    step += 1;
    // tfjs-node's data() resolves without a trip through the event loop, so a loop of awaits
    // would never let a signal in: yield once per step (microseconds) so SIGINT/SIGTERM is seen.
    await new Promise((resolve) => setImmediate(resolve));
    const loss = values.loss as number;
    if (!Number.isFinite(loss)) {
      progress.error(`loss is ${loss} at step ${step}; stopping. Last good checkpoint: ${lastCheckpoint ?? 'none'}`);
      return E.left({ kind: 'non-finite', step, lastCheckpoint, message: `non-finite loss (${loss}) at step ${step}; last good checkpoint: ${lastCheckpoint ?? 'none (lower --lr or check the data)'}` });
    }
    log.log(step, { ...record(values, lr, step), ...timing });
    progress.update({ step, loss, tokens, values: { lr } });
    if (spec.evaluate && spec.evalEvery > 0 && step % spec.evalEvery === 0 && step < spec.totalSteps) await spec.evaluate(step);
    if (spec.checkpointEvery > 0 && step % spec.checkpointEvery === 0 && step < spec.totalSteps) {
      const s = await save();
      if (E.isLeft(s)) return s;
    }
  }
  if (!lastCheckpoint || path.basename(lastCheckpoint) !== checkpointDirName(step)) {
    const s = await save();
    if (E.isLeft(s)) return s;
  }
  return E.right({ step, interrupted: stopped() || spec.interrupted(), lastCheckpoint: lastCheckpoint as string });
};

/** A second signal within this many milliseconds of the first is the same request (see {@link withInterrupts}). */
export const DUPLICATE_SIGNAL_MS = 500;

/**
 * Runs `f` with SIGINT and SIGTERM turned into a stop request: the first signal sets the flag
 * `f` polls (the loop finishes its step, checkpoints and returns, and the command exits 0); a
 * second one, later than {@link DUPLICATE_SIGNAL_MS}, exits at once (130 / 143). The handlers are removed when `f` settles.
 * @example const r = await withInterrupts(progress, (stop) => runLoop({ …, interrupted: stop }));
 */

export const withInterrupts = async <T>(progress: Progress, f: (interrupted: () => boolean) => Promise<T>): Promise<T> => {
  let interrupted = false;
  let first = 0;
  const handler = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // a signal sent to the whole process group reaches this process twice within milliseconds
      // (directly, and forwarded by the bin): that is one request, not "again to quit now"
      if (Date.now() - first < DUPLICATE_SIGNAL_MS) return;
      process.exit(signal === 'SIGTERM' ? 143 : 130);
    }
    interrupted = true;
    first = Date.now();
    progress.log(`${signal === 'SIGTERM' ? 'SIGTERM' : 'interrupt'}: finishing this step, saving a checkpoint (${signal === 'SIGTERM' ? 'signal' : 'Ctrl-C'} again to quit now)`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await f(() => interrupted);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
};
