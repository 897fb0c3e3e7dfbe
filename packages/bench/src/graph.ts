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
import { compile, encodeConfigProto, init, setDefaultConfigProto, type ConfigProtoOptions } from '@lamina/dsl';
import { albertForTask, gpt2LMHeadModel, GPT2_OUTPUTS, INPUTS, OUTPUTS, PRESETS, tinyGpt2Config, type AlbertConfig } from '@lamina/albert';
import { classifyObjective, clmObjective, createOptimizer, createPretrainer, eagerStep, float32, graphStep, int32, type EngineStep, type Feed, type StepEngine } from '@lamina/train';
import { syntheticBatch } from './synthetic.js';

/**
 * The demo model of `lamina demo`, at the bench's fixed vocabulary of 10,000.
 * @example createPretrainer({ config: DEMO_BENCH_MODEL, objective: "sop", mlmPositions: "masked", optimizer: "lamb", seed: 1 })
 */
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

/**
 * Options of {@link graphVsEager}.
 * @example { repeats: 5, steps: 5, xla: false }
 */
export interface GraphVsEagerOptions {
  /** Timed repeats per engine (interleaved). Default 5. */
  readonly repeats?: number;
  /** Steps per repeat. Default 5. */
  readonly steps?: number;
  /** Warm-up steps per engine before timing (includes the trace). Default 3. */
  readonly warmup?: number;
  /** Compile the graph engine's step with XLA. Default false. */
  readonly xla?: boolean;
}

/**
 * Tokens/s of one engine over the repeats.
 * @example { min: 572, median: 843, max: 1091, samples: [...] }
 */
export interface EngineRate {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly samples: readonly number[];
}

/**
 * What {@link graphVsEager} measured.
 * @example const r = await graphVsEager(); r.ratio
 */
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
  const runs = { eager: pretrainStep('eager', false), graph: pretrainStep('graph', o.xla ?? false) };
  for (const e of ['eager', 'graph'] as const) await runs[e].run(o.warmup ?? 3);
  if (runs.graph.engine() !== 'graph') throw new Error('the graph engine fell back to eager');
  const samples = { eager: [] as number[], graph: [] as number[] };
  for (let i = 0; i < (o.repeats ?? 5); i++) for (const e of ['eager', 'graph'] as const) samples[e].push(await runs[e].run(o.steps ?? 5));
  runs.eager.dispose();
  runs.graph.dispose();
  const eager = rate(samples.eager);
  const graph = rate(samples.graph);
  return { eager, graph, ratio: graph.median / eager.median, batch: [32, 64] };
};

/**
 * The training steps {@link stepGraphVsEager} measures:
 * - `finetune`: the demo's fine-tuning step, {@link DEMO_BENCH_MODEL} with a 2-class
 *   sequence-classification head, batch 16 × 128, AdamW (bias-corrected), dropout 0.1, clip 1;
 * - `clm`: a GPT-2-tiny (V=10000, H=128, 4 layers, 4 heads, I=512, dropout 0.1) causal-LM step,
 *   batch 16 × 128, AdamW.
 * @example STEP_BENCH_KINDS // ['finetune', 'clm']
 */
export const STEP_BENCH_KINDS = ['finetune', 'clm'] as const;
/**
 * One of {@link STEP_BENCH_KINDS}.
 * @example const k: StepBenchKind = 'clm';
 */
export type StepBenchKind = (typeof STEP_BENCH_KINDS)[number];

/**
 * One training step of a bench kind, ready to time: `run(k)` takes `k` steps (each ending with a
 * read of the loss) and returns tokens/s.
 */
interface TimedStep {
  readonly run: (k: number) => Promise<number>;
  readonly engine: () => StepEngine;
  readonly tokensPerStep: number;
  readonly dispose: () => void;
}

/** The demo model's pretraining step (32 × 64, LAMB, MLM at the masked positions + SOP). */
const pretrainStep = (engine: StepEngine, xla: boolean): TimedStep => {
  const [B, S] = [32, 64];
  const batch = syntheticBatch(DEMO_BENCH_MODEL, { batch: B, seq: S, predictions: 10, seed: 1 });
  const r = createPretrainer({ config: DEMO_BENCH_MODEL, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 1, engine, xla, onNotice: (l) => process.stderr.write(`${l}\n`) });
  if (E.isLeft(r)) throw new Error(r.left.message);
  const t = r.right;
  let step = 0;
  return {
    run: async (k) => {
      const t0 = performance.now();
      for (let i = 0; i < k; i++) {
        const m = t.trainStep([batch], 1e-4, step++);
        await m.loss.data();
        m.dispose();
      }
      return (k * B * S) / ((performance.now() - t0) / 1000);
    },
    engine: () => t.engine(),
    tokensPerStep: B * S,
    dispose: () => t.dispose(),
  };
};

/** The fine-tuning or causal-LM step of {@link STEP_BENCH_KINDS} (16 × 128, AdamW). */
const generalStep = (kind: StepBenchKind, engine: StepEngine, xla: boolean): TimedStep => {
  const B = 16;
  const S = 128;
  const V = 10000;
  const model =
    kind === 'finetune'
      ? albertForTask({ ...DEMO_BENCH_MODEL, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1 }, 'sequence-classification', 2)
      : gpt2LMHeadModel({ ...tinyGpt2Config(), vocabSize: V, maxPositions: S, hiddenSize: 128, numLayers: 4, numHeads: 4, innerSize: 512, residDropout: 0.1, embdDropout: 0.1, attnDropout: 0.1 });
  const outputs = kind === 'finetune' ? [OUTPUTS.taskLogits] : [GPT2_OUTPUTS.logits];
  const fwd = compile(model, { input: INPUTS.ids, outputs, ignoreInputs: [INPUTS.tokenTypes, INPUTS.mask] });
  if (E.isLeft(fwd)) throw new Error(`${fwd.left.path}: ${fwd.left.message}`);
  const objective = kind === 'finetune' ? classifyObjective(2, OUTPUTS.taskLogits) : clmObjective(GPT2_OUTPUTS.logits);
  const n = B * S;
  const ids = int32([B, S], Array.from({ length: n }, (_, i) => 5 + ((i * 7919) % (V - 5))));
  const mask = int32([B, S], new Int32Array(n).fill(1));
  const feed: Feed = {
    inputs: { [INPUTS.ids]: ids, [INPUTS.mask]: mask, ...(kind === 'finetune' ? { [INPUTS.tokenTypes]: int32([B, S], new Int32Array(n)) } : {}) },
    targets:
      kind === 'finetune'
        ? { labels: int32([B], Array.from({ length: B }, (_, i) => i % 2)) }
        : { labels: int32([B, S], Array.from(ids.data, (_, i) => (ids.data[i + 1] ?? 0) as number)), weights: float32([B, S], Array.from({ length: n }, (_, i) => (i % S === S - 1 ? 0 : 1))) },
    tokens: n,
  };
  const params = init(model, 1);
  const opt = createOptimizer('adamw', { biasCorrection: true });
  if (E.isLeft(params) || E.isLeft(opt)) throw new Error('cannot build the bench step');
  const spec = { forward: fwd.right, objective, clipNorm: 1, seed: 1, xla, onNotice: (l: string) => process.stderr.write(`${l}\n`) };
  const state = { params: params.right as Record<string, tf.Variable>, optimizer: opt.right };
  const step: EngineStep = engine === 'graph' ? graphStep(spec) : Object.assign(eagerStep(spec), { engine: (): StepEngine => 'eager', tracedFunctions: () => 0 });
  let index = 0;
  return {
    run: async (k) => {
      const t0 = performance.now();
      for (let i = 0; i < k; i++) {
        const m = step(state, [feed], { lr: 1e-4, step: index++ });
        await m.loss.data();
        m.dispose();
      }
      return (k * n) / ((performance.now() - t0) / 1000);
    },
    engine: () => step.engine(),
    tokensPerStep: n,
    dispose: () => {
      tf.dispose(Object.values(state.params));
      state.optimizer.dispose();
    },
  };
};

/**
 * Graph ({@link graphStep}) versus eager ({@link eagerStep}) for one of the general training steps
 * of `lamina finetune` / `lamina train`, repeats interleaved; tokens/s per engine and the ratio.
 * `o.xla` compiles the graph engine's step with XLA.
 * @example const r = await stepGraphVsEager('finetune', { repeats: 3, steps: 3 }); r.ratio
 */
export const stepGraphVsEager = async (kind: StepBenchKind, o: GraphVsEagerOptions = {}): Promise<GraphVsEager> => {
  const runs = { eager: generalStep(kind, 'eager', false), graph: generalStep(kind, 'graph', o.xla ?? false) };
  for (const e of ['eager', 'graph'] as const) await runs[e].run(o.warmup ?? 3);
  if (runs.graph.engine() !== 'graph') throw new Error('the graph engine fell back to eager');
  const samples = { eager: [] as number[], graph: [] as number[] };
  for (let i = 0; i < (o.repeats ?? 5); i++) for (const e of ['eager', 'graph'] as const) samples[e].push(await runs[e].run(o.steps ?? 5));
  runs.eager.dispose();
  runs.graph.dispose();
  const eager = rate(samples.eager);
  const graph = rate(samples.graph);
  return { eager, graph, ratio: graph.median / eager.median, batch: [16, 128] };
};

/**
 * The steps {@link graphVsXla} measures: the demo's pretraining step ({@link graphVsEager}'s) and
 * the two of {@link STEP_BENCH_KINDS}.
 * @example XLA_BENCH_KINDS // ['pretrain', 'finetune', 'clm']
 */
export const XLA_BENCH_KINDS = ['pretrain', 'finetune', 'clm'] as const;
/**
 * One of {@link XLA_BENCH_KINDS}.
 * @example const k: XlaBenchKind = 'pretrain';
 */
export type XlaBenchKind = (typeof XLA_BENCH_KINDS)[number];

/**
 * What {@link graphVsXla} measured.
 * @example const r = await graphVsXla('pretrain'); r.ratio; r.firstCallSeconds.xla
 */
export interface GraphVsXla {
  /** The graph engine, Grappler on, no XLA. */
  readonly graph: EngineRate;
  /** The same graph engine with `_XlaMustCompile` on the step function. */
  readonly xla: EngineRate;
  /** xla median ÷ graph median. */
  readonly ratio: number;
  /**
   * Seconds of each engine's first step that called the function (the trace, and XLA's compile):
   * paid once per input shape, left out of the rates.
   */
  readonly firstCallSeconds: { readonly graph: number; readonly xla: number };
  /** Seconds of each engine's timed steps, one by one (the first repeat's): a recompile would show. */
  readonly stepSeconds: { readonly graph: readonly number[]; readonly xla: readonly number[] };
  readonly batch: readonly [number, number];
}

/**
 * The graph step versus the same graph step compiled by XLA, side by side with interleaved
 * repeats, after the same warm-up (the first step of a fresh optimizer runs eager; the second
 * traces, registers and, for XLA, compiles: its time is reported apart). Each engine's first
 * repeat is also timed step by step, so a compile that recurs would show.
 * @example const r = await graphVsXla('finetune', { repeats: 3, steps: 3 }); r.ratio // > 1: XLA wins
 */
export const graphVsXla = async (kind: XlaBenchKind, o: GraphVsEagerOptions = {}): Promise<GraphVsXla> => {
  const make = (xla: boolean): TimedStep => (kind === 'pretrain' ? pretrainStep('graph', xla) : generalStep(kind, 'graph', xla));
  const runs = { graph: make(false), xla: make(true) };
  const tokens = runs.graph.tokensPerStep;
  const secondsOf = async (e: 'graph' | 'xla'): Promise<number> => tokens / (await runs[e].run(1));
  const first = { graph: 0, xla: 0 };
  for (const e of ['graph', 'xla'] as const) {
    await runs[e].run(1); // a fresh optimizer's first step: eager, creates the moments
    first[e] = await secondsOf(e); // the trace (and the XLA compile)
    const more = Math.max(0, (o.warmup ?? 3) - 2);
    if (more) await runs[e].run(more);
    if (runs[e].engine() !== 'graph') throw new Error('the graph engine fell back to eager');
  }
  const steps = o.steps ?? 5;
  const stepSeconds = { graph: [] as number[], xla: [] as number[] };
  const samples = { graph: [] as number[], xla: [] as number[] };
  for (let i = 0; i < (o.repeats ?? 5); i++)
    for (const e of ['graph', 'xla'] as const) {
      if (i === 0) {
        for (let s = 0; s < steps; s++) stepSeconds[e].push(await secondsOf(e));
        samples[e].push((steps * tokens) / stepSeconds[e].reduce((a, b) => a + b, 0));
      } else samples[e].push(await runs[e].run(steps));
    }
  runs.graph.dispose();
  runs.xla.dispose();
  const graph = rate(samples.graph);
  const xla = rate(samples.xla);
  const batch: readonly [number, number] = kind === 'pretrain' ? [32, 64] : [16, 128];
  return { graph, xla, ratio: xla.median / graph.median, firstCallSeconds: first, stepSeconds, batch };
};

/**
 * Held-out evaluation of the demo model (pretraining eval: MLM at the masked positions + SOP, batch
 * 32 × 64), the pretrainer's `evaluate` on the graph path versus eager, repeats interleaved.
 * @example const r = await evalGraphVsEager({ repeats: 3, steps: 5 }); r.ratio
 */
export const evalGraphVsEager = async (o: GraphVsEagerOptions = {}): Promise<GraphVsEager> => {
  const [B, S] = [32, 64];
  const batch = syntheticBatch(DEMO_BENCH_MODEL, { batch: B, seq: S, predictions: 10, seed: 1 });
  const make = (engine: StepEngine) => {
    const r = createPretrainer({ config: DEMO_BENCH_MODEL, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 1, engine, onNotice: (l) => process.stderr.write(`${l}\n`) });
    if (E.isLeft(r)) throw new Error(r.left.message);
    return r.right;
  };
  const ts = { eager: make('eager'), graph: make('graph') };
  const run = async (e: StepEngine, n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await ts[e].evaluate(batch);
    return (n * B * S) / ((performance.now() - t0) / 1000);
  };
  for (const e of ['eager', 'graph'] as const) await run(e, o.warmup ?? 3);
  const samples = { eager: [] as number[], graph: [] as number[] };
  for (let i = 0; i < (o.repeats ?? 5); i++) for (const e of ['eager', 'graph'] as const) samples[e].push(await run(e, o.steps ?? 5));
  ts.eager.dispose();
  ts.graph.dispose();
  const [eager, graph] = [rate(samples.eager), rate(samples.graph)];
  return { eager, graph, ratio: graph.median / eager.median, batch: [B, S] };
};

/**
 * A named `config_proto` setting for {@link configEffects}.
 * @example { name: 'remapping off', config: { rewrite: { remapping: 'off' } } }
 */
export interface ConfigVariant {
  readonly name: string;
  readonly config: ConfigProtoOptions;
}

/**
 * The settings {@link configEffects} prices by default: threads, `use_per_session_threads`, and
 * Grappler's remapper, arithmetic, layout and constant-folding optimizers; Grappler off for scale.
 * @example CONFIG_VARIANTS[0] // { name: 'default (empty config_proto)', config: {} }
 */
export const CONFIG_VARIANTS: readonly ConfigVariant[] = [
  { name: 'default (empty config_proto)', config: {} },
  { name: 'intra_op_parallelism_threads 1', config: { intraOpThreads: 1 } },
  { name: 'inter_op_parallelism_threads 1', config: { interOpThreads: 1 } },
  { name: 'inter 2, intra 2', config: { interOpThreads: 2, intraOpThreads: 2 } },
  { name: 'use_per_session_threads', config: { usePerSessionThreads: true } },
  { name: 'remapper off', config: { rewrite: { remapping: 'off' } } },
  { name: 'arithmetic optimizer off', config: { rewrite: { arithmetic: 'off' } } },
  { name: 'arithmetic aggressive', config: { rewrite: { arithmetic: 'aggressive' } } },
  { name: 'layout optimizer off', config: { rewrite: { layout: 'off' } } },
  { name: 'constant folding aggressive', config: { rewrite: { constantFolding: 'aggressive' } } },
  { name: 'one optimizer pass', config: { metaOptimizerIterations: 1 } },
  { name: 'Grappler off (disable_meta_optimizer)', config: { disableMetaOptimizer: true } },
];

/**
 * What {@link configEffects} measured: tokens/s per setting and each median ÷ the first setting's.
 * @example r.variants[5]?.ratio // remapper off ÷ default
 */
export interface ConfigEffects {
  readonly kind: XlaBenchKind;
  readonly batch: readonly [number, number];
  readonly variants: readonly { readonly name: string; readonly rate: EngineRate; readonly ratio: number }[];
}

/**
 * Prices `config_proto` settings on one graph training step: the same traced function called with
 * each setting in turn (each is its own kernel, Grappler-optimized at its first call, which the
 * warm-up takes), repeats interleaved across the settings. The first setting is the reference.
 * @example const r = await configEffects('pretrain', CONFIG_VARIANTS.slice(0, 3), { repeats: 3, steps: 2 });
 */
export const configEffects = async (kind: XlaBenchKind, variants: readonly ConfigVariant[] = CONFIG_VARIANTS, o: GraphVsEagerOptions = {}): Promise<ConfigEffects> => {
  const run = kind === 'pretrain' ? pretrainStep('graph', false) : generalStep(kind, 'graph', false);
  const bytes = variants.map((v) => encodeConfigProto(v.config));
  const before = setDefaultConfigProto(encodeConfigProto({}));
  try {
    await run.run(1); // a fresh optimizer's first step runs eager
    for (const b of bytes) {
      setDefaultConfigProto(b);
      await run.run(Math.max(1, (o.warmup ?? 3) - 1));
    }
    if (run.engine() !== 'graph') throw new Error('the graph engine fell back to eager');
    const samples = bytes.map(() => [] as number[]);
    for (let i = 0; i < (o.repeats ?? 5); i++)
      for (const [j, b] of bytes.entries()) {
        setDefaultConfigProto(b);
        samples[j]!.push(await run.run(o.steps ?? 5));
      }
    const rates = samples.map(rate);
    return { kind, batch: kind === 'pretrain' ? [32, 64] : [16, 128], variants: variants.map((v, j) => ({ name: v.name, rate: rates[j]!, ratio: rates[j]!.median / rates[0]!.median })) };
  } finally {
    setDefaultConfigProto(before);
    run.dispose();
  }
};
