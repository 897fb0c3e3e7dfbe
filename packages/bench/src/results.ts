/**
 * The results file (`packages/bench/results/<date>.json`): everything one bench run measured, with
 * the environment it ran in, ending in the machine-readable `ratios` summary. The report
 * ({@link renderReport}) is a pure function of this value.
 *
 * @example
 * ```ts
 * const r = parseResults(JSON.parse(fs.readFileSync('packages/bench/results/2026-12-01.json', 'utf8')));
 * if (E.isRight(r)) console.log(r.right.ratios.train_vs_pytorch);
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { CeilingRow } from './ceiling.js';
import type { MicroResult } from './micro.js';
import type { KernelProfile } from './profile.js';
import type { EngineRate } from './graph.js';
import type { LargeMemory } from './memory.js';
import type { Measurement, Schedule } from './measure.js';
import type { Summary } from './stats.js';
import type { Table1Row } from './table1.js';

/** Where the run happened. */
export interface Environment {
  readonly backend: string;
  readonly native: boolean;
  readonly tensorflowVersion: string | null;
  readonly tfjsVersion: string;
  /** Intra-op threads of TensorFlow. */
  readonly threads: number;
  readonly node: string;
  readonly cpuModel: string;
  readonly cpus: number;
  /** 1-minute load average at the start and the end of the run (other processes share the cores). */
  readonly loadAverage: readonly [number, number];
  /** PyTorch side, or why it was skipped. */
  readonly pytorch: { readonly torch: string; readonly transformers: string; readonly threads: number } | { readonly skipped: string };
  /** TensorFlow-Python peer (`python/tf_step.py`), or why it was not measured. Absent in older files. */
  readonly tensorflowPython?: { readonly tensorflow: string; readonly threads: number } | { readonly skipped: string };
}

/** The native backend's matmul rate, measured in this run. */
export interface MatmulResult {
  readonly n: number;
  readonly seconds: readonly number[];
  readonly gflops: Summary;
  /** The same product in PyTorch (context only), when available. */
  readonly pytorchGflops: Summary | null;
}

/** Achieved FLOP/s of lamina's step over the matmul rate. */
export interface Utilisation {
  readonly model: string;
  readonly batch: number;
  readonly seq: number;
  /** Forward FLOPs of the like-for-like model (DSL `flops`). */
  readonly forwardFlops: number;
  /** 3 × forward: forward + backward. */
  readonly stepFlops: number;
  readonly achievedGflops: Summary;
  readonly matmulGflops: number;
  /** median achieved / median matmul rate. */
  readonly utilisation: number;
}

/** One row of the speed-claim table. */
export interface SpeedClaim {
  readonly size: 'base' | 'large';
  readonly albert: string;
  readonly bert: string;
  readonly system: string;
  /** median(ALBERT tokens/s) / median(BERT tokens/s), both measured in this run. */
  readonly ratio: number;
  readonly paper: number;
}

/** Memory of one configuration. */
export interface MemoryRow {
  readonly model: string;
  readonly params: number;
  readonly paramBytes: number;
  /** Two moment slots per parameter (LAMB/AdamW). */
  readonly optimizerBytes: number;
  /** Peak RSS per system id (tfjs systems share the bench process; PyTorch is its own process). */
  readonly peakRss: Readonly<Record<string, number | null>>;
  /** Bytes held by tfjs tensors after the system's last step. */
  readonly tfBytes: Readonly<Record<string, number | null>>;
}

/** One point of a scaling curve. */
export interface ScalingPoint {
  readonly variable: 'layers' | 'seq';
  readonly value: number;
  readonly sharing: string;
  readonly params: number;
  readonly measurement: Measurement;
}

/** A change tried to make lamina faster, with its measured effect. */
export interface Tried {
  readonly change: string;
  readonly measurement: string;
  readonly effect: string;
}

/** The per-op profile of lamina's step and the hand-written one. */
export interface ProfileResult {
  readonly model: string;
  readonly batch: number;
  readonly seq: number;
  readonly lamina: KernelProfile | null;
  readonly handwritten: KernelProfile | null;
  /** The demo row's real step, graph and eager engines (the graph step is one function call: its kernels are not visible one by one). Absent in older files. */
  readonly demo?: { readonly batch: number; readonly seq: number; readonly graph: KernelProfile | null; readonly eager: KernelProfile | null };
  readonly note: string;
}

/**
 * A general training step (fine-tuning, causal LM) measured graph versus eager, repeats interleaved.
 * @example { step: 'finetune', batch: [16, 128], eager: {...}, graph: {...}, ratio: 2.7, repeats: 3, steps: 2 }
 */
export interface GraphStepResult {
  readonly step: string;
  readonly batch: readonly [number, number];
  readonly eager: EngineRate;
  readonly graph: EngineRate;
  readonly ratio: number;
  readonly repeats: number;
  readonly steps: number;
}

/** The summary the issue asks for (albert-base, batch 8 × 128). */
export interface Ratios {
  readonly train_vs_pytorch: number | null;
  readonly infer_vs_pytorch: number | null;
  readonly dsl_vs_handwritten: number | null;
  readonly utilisation: number | null;
  /** lamina graph step ÷ eager step, tokens/s (medians): the demo's pretraining step, 32 × 64. Absent in older files. */
  readonly graph_vs_eager_demo?: number | null;
  /** Demo model, 32 × 64: lamina's real step (graph, masked positions, LAMB) ÷ Hugging Face's own step. */
  readonly train_vs_pytorch_demo?: number | null;
  /** bert-base 8 × 128, like-for-like (graph, all positions, AdamW) ÷ Hugging Face PyTorch. */
  readonly train_vs_pytorch_bert_base?: number | null;
  /** Demo model: lamina's real step ÷ the same step in TensorFlow-Python `tf.function`. */
  readonly train_vs_tf_graph_demo?: number | null;
  /** The same against `tf.function(jit_compile=True)`. */
  readonly train_vs_tf_xla_demo?: number | null;
  /** The same for the demo's fine-tuning step (classify, 16 × 128). */
  readonly graph_vs_eager_finetune?: number | null;
  /** The same for a GPT-2-tiny clm step (16 × 128). */
  readonly graph_vs_eager_clm?: number | null;
}

/** Everything one run measured. */
export interface Results {
  readonly schema: 1;
  readonly date: string;
  readonly command: string;
  readonly quick: boolean;
  readonly durationSeconds: number;
  readonly environment: Environment;
  readonly schedules: Readonly<Record<string, Schedule>>;
  readonly table1: { readonly rows: readonly Table1Row[]; readonly hfNote: string; readonly xxlargeNote: string };
  readonly matmul: MatmulResult;
  readonly train: readonly Measurement[];
  readonly infer: readonly Measurement[];
  readonly large: readonly Measurement[];
  readonly utilisation: Utilisation | null;
  readonly speedClaim: readonly SpeedClaim[];
  readonly memory: readonly MemoryRow[];
  readonly scaling: readonly ScalingPoint[];
  readonly profile: ProfileResult | null;
  /** Candidate compiler changes priced in isolation (forward + backward of one op). */
  readonly micro: readonly MicroResult[];
  readonly dataPipeline: { readonly tokensPerSecond: number; readonly instances: number; readonly seconds: number } | { readonly skipped: string };
  readonly tried: readonly Tried[];
  readonly notes: readonly string[];
  /** Fine-tuning and causal-LM steps, graph vs eager. Absent in older files. */
  readonly graphSteps?: readonly GraphStepResult[];
  /** One bert-large LAMB step's peak RSS per system, each in its own process (full run only). */
  readonly largeMemory?: LargeMemory;
  /**
   * Per like-for-like train/infer row of albert-base and bert-base: each system's achieved GFLOP/s,
   * its utilisation of this run's matmul rate, and the ceiling (matmul rate ÷ PyTorch's achieved
   * rate) a target is checked against. Absent in older files.
   */
  readonly ceiling?: readonly CeilingRow[];
  readonly ratios: Ratios;
}

const REQUIRED: readonly (keyof Results)[] = ['schema', 'date', 'environment', 'table1', 'matmul', 'train', 'infer', 'large', 'speedClaim', 'memory', 'scaling', 'micro', 'tried', 'notes', 'ratios'];

/**
 * Checks that a parsed JSON value is a results file of this schema (shallowly: the required keys
 * and `schema: 1`); a Left names what is missing.
 * @example parseResults({}) // left('not a bench results file: missing schema, date, …')
 */
export const parseResults = (u: unknown): E.Either<string, Results> => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return E.left('not a bench results file: expected a JSON object');
  const missing = REQUIRED.filter((k) => !Object.hasOwn(u, k));
  if (missing.length) return E.left(`not a bench results file: missing ${missing.join(', ')}`);
  if ((u as { schema: unknown }).schema !== 1) return E.left(`unsupported results schema ${JSON.stringify((u as { schema: unknown }).schema)} (expected 1)`);
  return E.right(u as Results);
};
