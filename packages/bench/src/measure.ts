/**
 * The measuring harness: systems (lamina, hand-written tfjs, PyTorch) behind one interface, run
 * side by side with their repeats interleaved (repeat r of every system before repeat r+1 of any,
 * the order rotating per repeat), so slow minutes on a shared machine hit every system alike.
 *
 * @example
 * ```ts
 * const { measurements } = await measureInterleaved(specs, ctx, { warmup: 1, steps: 2, repeats: 3 }, console.log);
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { AlbertConfig, Batch } from '@lamina/albert';
import { createHandwritten } from './handwritten.js';
import { laminaInference, type CreatePretrainer } from './lamina.js';
import { profileKernels, type KernelProfile } from './profile.js';
import type { TorchWorker } from './python.js';
import { rates, summarize, type Summary } from './stats.js';
import { syntheticBatch } from './synthetic.js';

/**
 * Which implementation a measurement runs. lamina's training systems run its graph engine (one
 * TensorFlow function per step, what `lamina pretrain` runs) unless the kind ends in `-eager`;
 * `tf-graph` / `tf-xla` are the same step written in TensorFlow 2.21 Python (`python/tf_step.py`)
 * under `tf.function`, without and with `jit_compile=True`.
 * @example const k: SystemKind = 'lamina-masked-eager';
 */
export type SystemKind = 'lamina' | 'lamina-eager' | 'lamina-masked' | 'lamina-masked-eager' | 'handwritten' | 'pytorch' | 'tf-graph' | 'tf-xla';

/**
 * Human names of the systems, as the report prints them.
 * @example SYSTEM_LABELS['tf-xla'] // 'TensorFlow 2.21 Python, tf.function(jit_compile=True)'
 */
export const SYSTEM_LABELS: Readonly<Record<SystemKind, string>> = {
  lamina: 'lamina graph step (MLM logits at all positions)',
  'lamina-eager': 'lamina eager step (MLM logits at all positions)',
  'lamina-masked': 'lamina real pretraining step, graph (logits at masked positions, LAMB)',
  'lamina-masked-eager': 'lamina real pretraining step, eager (logits at masked positions, LAMB)',
  handwritten: 'hand-written tfjs (same model and step)',
  pytorch: 'Hugging Face PyTorch',
  'tf-graph': 'TensorFlow 2.21 Python, tf.function',
  'tf-xla': 'TensorFlow 2.21 Python, tf.function(jit_compile=True)',
};

/**
 * Whether a kind is one of lamina's own systems, and which engine its training step runs.
 * @example laminaEngine('lamina-masked-eager') // 'eager'; laminaEngine('pytorch') // null
 */
export const laminaEngine = (k: SystemKind): 'graph' | 'eager' | null =>
  k === 'lamina' || k === 'lamina-masked' ? 'graph' : k === 'lamina-eager' || k === 'lamina-masked-eager' ? 'eager' : null;

/**
 * Where a system computes the MLM logits by default: lamina's real step (`lamina-masked*`) at the
 * masked positions, the like-for-like systems (and Hugging Face) at every position.
 * @example defaultMlmPositions('lamina-masked') // 'masked'
 */
export const defaultMlmPositions = (k: SystemKind): 'all' | 'masked' => (k === 'lamina-masked' || k === 'lamina-masked-eager' ? 'masked' : 'all');

/** What to measure. */
export interface SystemSpec {
  /** Unique within a run, e.g. `train:albert-base:lamina`. */
  readonly id: string;
  /** The model's display name (preset or scaling variant). */
  readonly model: string;
  readonly config: AlbertConfig;
  readonly system: SystemKind;
  readonly mode: 'train' | 'infer';
  readonly batch: number;
  readonly seq: number;
  readonly predictions: number;
  readonly optimizer: 'lamb' | 'adamw';
  /** Where the MLM logits are computed (default {@link defaultMlmPositions}); the TensorFlow-Python systems follow the lamina row they mirror. */
  readonly mlmPositions?: 'all' | 'masked';
}

/** One system's measurement. */
export interface Measurement {
  readonly id: string;
  readonly model: string;
  readonly system: SystemKind;
  readonly mode: 'train' | 'infer';
  readonly batch: number;
  readonly seq: number;
  readonly optimizer: 'lamb' | 'adamw';
  readonly tokensPerStep: number;
  /** The configuration measured. */
  readonly config: AlbertConfig;
  /** Per-step wall seconds, every timed step of every repeat. */
  readonly seconds: readonly number[];
  readonly stepSeconds: Summary;
  readonly tokensPerSecond: Summary;
  /** Highest resident set size seen while this system ran (its own process for PyTorch). */
  readonly peakRssBytes: number | null;
  /** Bytes of tfjs tensors this system owns after its warm-up (parameters, optimizer state, caches); tfjs systems only. */
  readonly tfBytes: number | null;
  /** Why the system could not be measured (then `seconds` is empty). */
  readonly error?: string;
}

/** A system ready to run. */
export interface System {
  /** Runs `warmup` untimed then `steps` timed steps. */
  run(steps: number, warmup: number): Promise<E.Either<string, { seconds: number[]; peakRssBytes: number | null; tfBytes: number | null }>>;
  /** One step under the kernel profiler (tfjs systems only). */
  readonly profile?: () => Promise<KernelProfile>;
  dispose(): Promise<void>;
}

/** What systems need from the run. */
export interface SystemContext {
  readonly createPretrainer: E.Either<string, CreatePretrainer>;
  readonly torch: E.Either<string, TorchWorker>;
  /** The TensorFlow-Python worker (`python/tf_step.py`), or why there is none. */
  readonly tf?: E.Either<string, TorchWorker>;
  /** lamina's parameter count of a config's pretraining model (the TensorFlow worker must match it). */
  readonly paramsOf?: (c: AlbertConfig) => number;
  readonly lr: number;
  readonly seed: number;
}

const objectiveOf = (c: AlbertConfig): 'sop' | 'nsp' => (c.factorized ? 'sop' : 'nsp');

/** Times a tfjs step function that resolves once its result is read. */
const timeLoop = async (step: () => Promise<void>, steps: number, warmup: number): ReturnType<System['run']> => {
  try {
    return await timeLoopUnsafe(step, steps, warmup);
  } catch (e) {
    // a tfjs error inside a step is a bug somewhere; report it with the measurement instead of losing the run
    return E.left(`step failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
};

const timeLoopUnsafe = async (step: () => Promise<void>, steps: number, warmup: number): ReturnType<System['run']> => {
  let peak = process.memoryUsage().rss;
  for (let i = 0; i < warmup; i++) {
    await step();
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const seconds: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    seconds.push((performance.now() - t0) / 1000);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  return E.right({ seconds, peakRssBytes: peak, tfBytes: tf.memory().numBytes });
};

/**
 * Builds the system a spec names (parameters, optimizer state, the batch). A system that cannot
 * be built (PyTorch missing, trainer not exported) is a Left with the reason.
 */
export const makeSystem = async (s: SystemSpec, ctx: SystemContext): Promise<E.Either<string, System>> => {
  const b: Batch = syntheticBatch(s.config, { batch: s.batch, seq: s.seq, predictions: s.predictions, seed: ctx.seed });
  const objective = objectiveOf(s.config);
  const mlmPositions = s.mlmPositions ?? defaultMlmPositions(s.system);
  switch (s.system) {
    case 'lamina':
    case 'lamina-eager':
    case 'lamina-masked':
    case 'lamina-masked-eager': {
      if (s.mode === 'infer') {
        const engine = laminaEngine(s.system) ?? 'eager';
        const notices: string[] = [];
        const inf = laminaInference(s.config, objective, ctx.seed, { engine, onNotice: (l) => notices.push(l) });
        if (E.isLeft(inf)) return inf;
        if (engine === 'graph') {
          // the first call traces: before any timing, and a forward that fell back is not a graph figure
          const w = await timeLoop(() => inf.right.run(b), 0, 1);
          if (E.isLeft(w) || inf.right.engine() !== 'graph') {
            inf.right.dispose();
            return E.left(E.isLeft(w) ? w.left : `the graph forward fell back to eager${notices.length ? ` (${notices.join('; ')})` : ''}`);
          }
        }
        return E.right({ run: (n, w) => timeLoop(() => inf.right.run(b), n, w), profile: () => profileKernels(() => inf.right.run(b)), dispose: async () => inf.right.dispose() });
      }
      if (E.isLeft(ctx.createPretrainer)) return ctx.createPretrainer;
      const engine = laminaEngine(s.system) ?? 'eager';
      const notices: string[] = [];
      const t = ctx.createPretrainer.right({ config: s.config, objective, mlmPositions, optimizer: s.optimizer, seed: ctx.seed, clipNorm: 1, engine, xla: false, onNotice: (l) => notices.push(l) });
      if (E.isLeft(t)) return E.left(t.left.message);
      const tr = t.right;
      let stepIndex = 0;
      const step = async () => {
        const r = tr.trainStep([b], ctx.lr, stepIndex++);
        await r.loss.data();
        r.dispose();
      };
      if (engine === 'graph') {
        // the graph engine's first step runs eagerly (it creates the optimizer state), the second
        // traces: both before any timing, and a step that fell back to eager is not a graph figure
        const w = await timeLoop(step, 0, 2);
        if (E.isLeft(w) || tr.engine?.() === 'eager') {
          tr.dispose();
          return E.left(E.isLeft(w) ? w.left : `the graph engine fell back to eager${notices.length ? ` (${notices.join('; ')})` : ''}`);
        }
      }
      return E.right({ run: (n, w) => timeLoop(step, n, w), profile: () => profileKernels(step), dispose: async () => tr.dispose() });
    }
    case 'handwritten': {
      const h = createHandwritten({ config: s.config, objective, mlmPositions: 'all', optimizer: s.optimizer, seed: ctx.seed, clipNorm: 1 });
      if (E.isLeft(h)) return E.left(h.left.message);
      const hw = h.right;
      const step =
        s.mode === 'train'
          ? async () => {
              const r = hw.trainStep(b, ctx.lr);
              await r.loss.data();
              r.dispose();
            }
          : async () => {
              const probe = tf.tidy(() => {
                const o = hw.infer(b);
                return tf.add(tf.sum(o.orderLogits ?? tf.scalar(0)), tf.slice(tf.reshape(o.predictionLogits, [-1]), [0], [1]).sum());
              });
              await probe.data();
              probe.dispose();
            };
      return E.right({ run: (n, w) => timeLoop(step, n, w), profile: () => profileKernels(step), dispose: async () => hw.dispose() });
    }
    case 'pytorch':
    case 'tf-graph':
    case 'tf-xla': {
      const worker = s.system === 'pytorch' ? ctx.torch : (ctx.tf ?? E.left('TensorFlow-Python was not started'));
      if (E.isLeft(worker)) return worker;
      if (s.system !== 'pytorch' && s.mode !== 'train') return E.left('the TensorFlow-Python worker measures training steps only');
      const w = worker.right;
      const setup = await w.request({
        cmd: 'setup',
        id: s.id,
        config: s.config,
        batch: s.batch,
        seq: s.seq,
        predictions: s.predictions,
        mode: s.mode,
        lr: ctx.lr,
        clip_norm: 1.0,
        seed: ctx.seed,
        ...(s.system === 'pytorch'
          ? {}
          : { mlm_positions: mlmPositions, optimizer: s.optimizer, xla: s.system === 'tf-xla', expected_params: ctx.paramsOf ? ctx.paramsOf(s.config) : null }),
      });
      if (E.isLeft(setup)) return setup;
      return E.right({
        run: async (n, warm) => {
          const r = await w.request({ cmd: 'time', id: s.id, steps: n, warmup: warm });
          return E.map((x: Record<string, unknown>) => ({ seconds: x.seconds as number[], peakRssBytes: (x.peak_rss_bytes as number) ?? null, tfBytes: null }))(r);
        },
        dispose: async () => {
          await w.request({ cmd: 'dispose', id: s.id });
        },
      });
    }
  }
};

/** Warm-up, timed steps per repeat, and repeats. */
export interface Schedule {
  readonly warmup: number;
  readonly steps: number;
  readonly repeats: number;
}

/**
 * Builds and warms up every system (one at a time), then runs repeat r of each (rotating the
 * order) before repeat r+1 of any. Systems are disposed at the end. A system that
 * fails to build or run is reported with its error, the others go on.
 */
export const measureInterleaved = async (
  specs: readonly SystemSpec[],
  ctx: SystemContext,
  sch: Schedule,
  log: (m: string) => void,
  profileIds: readonly string[] = [],
): Promise<{ measurements: Measurement[]; profiles: Record<string, KernelProfile> }> => {
  // build and warm up one system at a time, so the tfjs bytes each one owns (parameters, optimizer
  // state, anything it caches) can be read off tf.memory(); the timed repeats are interleaved
  const built: { spec: SystemSpec; sys: E.Either<string, System> }[] = [];
  const acc = new Map<string, { seconds: number[]; peak: number | null; tfBytes: number | null; error?: string }>();
  for (const spec of specs) {
    const before = tf.memory().numBytes;
    let sys = await makeSystem(spec, ctx);
    let tfBytes: number | null = null;
    if (E.isRight(sys) && sch.warmup > 0) {
      const w = await sys.right.run(0, sch.warmup);
      if (E.isLeft(w)) {
        await sys.right.dispose();
        sys = w;
      } else if (spec.system !== 'pytorch') tfBytes = tf.memory().numBytes - before;
    }
    built.push({ spec, sys });
    acc.set(spec.id, { seconds: [], peak: null, tfBytes, ...(E.isLeft(sys) ? { error: sys.left } : {}) });
  }
  for (let r = 0; r < sch.repeats; r++) {
    const order = built.map((_, i) => built[(i + r) % built.length] as (typeof built)[number]);
    for (const { spec, sys } of order) {
      const a = acc.get(spec.id) as { seconds: number[]; peak: number | null; tfBytes: number | null; error?: string };
      if (E.isLeft(sys) || a.error) continue;
      const res = await sys.right.run(sch.steps, 0);
      if (E.isLeft(res)) {
        a.error = res.left;
        continue;
      }
      a.seconds.push(...res.right.seconds);
      a.peak = Math.max(a.peak ?? 0, res.right.peakRssBytes ?? 0) || null;
      const med = summarize(res.right.seconds).median;
      log(`  ${spec.id} repeat ${r + 1}/${sch.repeats}: ${med.toFixed(2)} s/step (${Math.round((spec.batch * spec.seq) / med)} tokens/s)`);
    }
  }
  // profile warmed-up systems after the timed repeats, so profiling never perturbs a timing
  const profiles: Record<string, KernelProfile> = {};
  for (const { spec, sys } of built) {
    if (!profileIds.includes(spec.id) || E.isLeft(sys) || !sys.right.profile || acc.get(spec.id)?.error) continue;
    log(`  profiling ${spec.id}`);
    try {
      profiles[spec.id] = await sys.right.profile();
    } catch (e) {
      log(`  profiling ${spec.id} failed: ${String(e)}`);
    }
  }
  for (const { sys } of built) if (E.isRight(sys)) await sys.right.dispose();
  const measurements = built.map(({ spec }) => {
    const a = acc.get(spec.id) as { seconds: number[]; peak: number | null; tfBytes: number | null; error?: string };
    const tokens = spec.batch * spec.seq;
    return {
      id: spec.id,
      model: spec.model,
      system: spec.system,
      mode: spec.mode,
      batch: spec.batch,
      seq: spec.seq,
      optimizer: spec.optimizer,
      tokensPerStep: tokens,
      config: spec.config,
      seconds: a.seconds,
      stepSeconds: summarize(a.seconds),
      tokensPerSecond: summarize(rates(a.seconds, tokens)),
      peakRssBytes: a.peak,
      tfBytes: a.tfBytes,
      ...(a.error ? { error: a.error } : {}),
    };
  });
  return { measurements, profiles };
};
