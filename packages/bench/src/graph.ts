/**
 * Graph versus eager training step, side by side: the demo model (V=10000, E=64, H=128, 4 layers
 * sharing one set) at batch 32 × 64, the same pretrainer with `engine: 'graph'` and
 * `engine: 'eager'`, repeats interleaved (eager, graph, eager, graph, …) so machine load hits both
 * alike. Reports tokens/s min/median/max per engine and the ratio of medians.
 *
 * @example
 * ```ts
 * const r = await graphVsEager({ repeats: 5, steps: 5 });
 * console.log(r.ratio); // graph ÷ eager, medians
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { PRESETS, type AlbertConfig } from '@lamina/albert';
import { createPretrainer, type StepEngine } from '@lamina/train';
import { syntheticBatch } from './synthetic.js';

/** The demo model of `lamina demo`, at the bench's fixed vocabulary of 10,000. */
export const DEMO_BENCH_MODEL: AlbertConfig = {
  ...PRESETS['albert-base'],
  vocabSize: 10000,
  embeddingSize: 64,
  hiddenSize: 128,
  numHiddenLayers: 4,
  numAttentionHeads: 4,
  intermediateSize: 512,
  maxPositionEmbeddings: 128,
};

/** Options of {@link graphVsEager}. */
export interface GraphVsEagerOptions {
  /** Timed repeats per engine (interleaved). Default 5. */
  readonly repeats?: number;
  /** Steps per repeat. Default 5. */
  readonly steps?: number;
  /** Warm-up steps per engine before timing (includes the trace). Default 3. */
  readonly warmup?: number;
  readonly xla?: boolean;
}

/** Tokens/s of one engine over the repeats. */
export interface EngineRate {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly samples: readonly number[];
}

/** What {@link graphVsEager} measured. */
export interface GraphVsEager {
  readonly eager: EngineRate;
  readonly graph: EngineRate;
  /** graph median ÷ eager median. */
  readonly ratio: number;
  readonly batch: readonly [number, number];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const rate = (xs: number[]): EngineRate => ({ min: Math.min(...xs), median: median(xs), max: Math.max(...xs), samples: xs });

/**
 * Measures graph and eager pretraining steps of the demo model side by side.
 * @example see the module example
 */
export const graphVsEager = async (o: GraphVsEagerOptions = {}): Promise<GraphVsEager> => {
  const repeats = o.repeats ?? 5;
  const steps = o.steps ?? 5;
  const B = 32;
  const S = 64;
  const batch = syntheticBatch(DEMO_BENCH_MODEL, { batch: B, seq: S, predictions: 10, seed: 1 });
  const make = (engine: StepEngine) => {
    const r = createPretrainer({ config: DEMO_BENCH_MODEL, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 1, engine, xla: o.xla ?? false, onNotice: (l) => console.error(l) });
    if (E.isLeft(r)) throw new Error(r.left.message);
    return r.right;
  };
  const trainers = { eager: make('eager'), graph: make('graph') };
  let step = 0;
  const run = async (engine: StepEngine, n: number): Promise<number> => {
    const t = trainers[engine];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const r = t.trainStep([batch], 1e-4, step++);
      await r.loss.data();
      r.dispose();
    }
    return (n * B * S) / ((performance.now() - t0) / 1000);
  };
  for (const e of ['eager', 'graph'] as const) await run(e, o.warmup ?? 3);
  if (trainers.graph.engine() !== 'graph') throw new Error('the graph engine fell back to eager');
  const samples = { eager: [] as number[], graph: [] as number[] };
  for (let i = 0; i < repeats; i++) for (const e of ['eager', 'graph'] as const) samples[e].push(await run(e, steps));
  trainers.eager.dispose();
  trainers.graph.dispose();
  void tf;
  const eager = rate(samples.eager);
  const graph = rate(samples.graph);
  return { eager, graph, ratio: graph.median / eager.median, batch: [B, S] };
};
