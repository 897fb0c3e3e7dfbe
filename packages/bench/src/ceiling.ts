/**
 * The ceiling of a like-for-like comparison on this CPU: for each training or inference row of
 * albert-base and bert-base, every system's achieved FLOP/s (the same FLOP count for every system
 * of a row, from the DSL's `flops` interpreter, so the ratio of two systems' GFLOP/s is the ratio
 * of their tokens/s), its utilisation of the native matmul rate measured in the same run, and the
 * ratio lamina would reach over PyTorch if it ran at 100% of that rate:
 * `ceiling = matmul rate ÷ PyTorch's achieved rate`. When a target (issue 12) is above the ceiling,
 * no like-for-like step can meet it on this CPU: the step would have to do its matrix products
 * faster than the runtime's own large square matmul does.
 *
 * @example
 * ```ts
 * const rows = ceilingRows(train, infer, flopsOf, 95.7);
 * rows[0]?.ceiling; // e.g. 1.03: the most lamina ÷ PyTorch can be here
 * reachability(rows[0]?.ceiling, 1.5); // 'unreachable'
 * ```
 * @module
 */
import type { Measurement, SystemKind } from './measure.js';
import type { Ratios } from './results.js';
import { summarize, type Summary } from './stats.js';

/**
 * The systems whose step does the same work as lamina's like-for-like step (logits at every
 * position, AdamW): a row's FLOP count is theirs. `lamina-masked*` (logits at the masked
 * positions, LAMB) does less and is left out, and so is a training measurement with another
 * optimizer than AdamW (the demo row's TensorFlow-Python mirror of the masked LAMB step).
 * @example LIKE_FOR_LIKE_SYSTEMS.includes('pytorch') // true
 */
export const LIKE_FOR_LIKE_SYSTEMS: readonly SystemKind[] = ['lamina', 'lamina-eager', 'handwritten', 'pytorch', 'tf-graph', 'tf-xla'];

/**
 * One system of a {@link CeilingRow}.
 * @example { system: 'pytorch', achievedGflops: { min: 70, median: 78, max: 80, n: 2 }, utilisation: 0.82 }
 */
export interface CeilingSystem {
  readonly system: SystemKind;
  /** FLOPs per step ÷ seconds per step, over the timed steps. */
  readonly achievedGflops: Summary;
  /** Median achieved ÷ the median matmul rate. */
  readonly utilisation: number;
}

/**
 * The ceiling of one row (see the module documentation).
 * @example { mode: 'train', model: 'albert-base', ceiling: 1.03, target: 1.5, ratioKey: 'train_vs_pytorch', ... }
 */
export interface CeilingRow {
  readonly mode: 'train' | 'infer';
  readonly model: string;
  readonly batch: number;
  readonly seq: number;
  /** Forward FLOPs (DSL `flops`). */
  readonly forwardFlops: number;
  /** FLOPs of one step: 3 × forward for training (forward + backward), the forward for inference. */
  readonly stepFlops: number;
  /** The native matmul rate of this run (median GFLOP/s). */
  readonly matmulGflops: number;
  readonly systems: readonly CeilingSystem[];
  /** matmul rate ÷ PyTorch's achieved median: lamina ÷ PyTorch at 100% utilisation. Null without PyTorch. */
  readonly ceiling: number | null;
  /** The ratio this row's target is set on, and the target (issue 12), when it has one. */
  readonly ratioKey?: keyof Ratios;
  readonly target?: number;
}

/** The targets on the like-for-like rows. */
const ROW_TARGETS: Readonly<Record<string, { readonly ratioKey: keyof Ratios; readonly target: number }>> = {
  'train:albert-base': { ratioKey: 'train_vs_pytorch', target: 1.5 },
  'train:bert-base': { ratioKey: 'train_vs_pytorch_bert_base', target: 1.3 },
  'infer:albert-base': { ratioKey: 'infer_vs_pytorch', target: 1.2 },
};

/**
 * The ceiling rows of a run: one per (mode, model) among albert-base and bert-base that has a
 * like-for-like measurement and a FLOP count. `forwardFlopsOf(model)` is the forward FLOPs of that
 * model at the row's batch (null: unknown, the row is left out).
 * @example ceilingRows([...train, ...infer], (m) => (m === 'albert-base' ? 187.9e9 : null), 95.7)
 */
export const ceilingRows = (
  measurements: readonly Measurement[],
  forwardFlopsOf: (model: string, batch: number, seq: number) => number | null,
  matmulGflops: number,
  models: readonly string[] = ['albert-base', 'bert-base'],
): CeilingRow[] => {
  const rows: CeilingRow[] = [];
  for (const mode of ['train', 'infer'] as const)
    for (const model of models) {
      const ms = measurements.filter((m) => m.mode === mode && m.model === model && LIKE_FOR_LIKE_SYSTEMS.includes(m.system) && (mode === 'infer' || m.optimizer === 'adamw') && !m.error && m.seconds.length > 0);
      const first = ms[0];
      if (!first) continue;
      const fwd = forwardFlopsOf(model, first.batch, first.seq);
      if (fwd === null || !(fwd > 0) || !(matmulGflops > 0)) continue;
      const stepFlops = mode === 'train' ? 3 * fwd : fwd;
      const systems = LIKE_FOR_LIKE_SYSTEMS.flatMap((s) => {
        const m = ms.find((x) => x.system === s);
        if (!m) return [];
        const achieved = summarize(m.seconds.map((sec) => stepFlops / sec / 1e9));
        return [{ system: s, achievedGflops: achieved, utilisation: achieved.median / matmulGflops }];
      });
      const pt = systems.find((s) => s.system === 'pytorch');
      const t = ROW_TARGETS[`${mode}:${model}`];
      rows.push({
        mode,
        model,
        batch: first.batch,
        seq: first.seq,
        forwardFlops: fwd,
        stepFlops,
        matmulGflops,
        systems,
        ceiling: pt ? matmulGflops / pt.achievedGflops.median : null,
        ...(t ?? {}),
      });
    }
  return rows;
};

/**
 * Whether a target is reachable for a like-for-like step on this CPU: `unreachable` when the
 * ceiling is below it, `reachable` otherwise, `unknown` without a ceiling.
 * @example reachability(1.03, 1.5) // 'unreachable'
 */
export const reachability = (ceiling: number | null | undefined, target: number): 'reachable' | 'unreachable' | 'unknown' =>
  ceiling === null || ceiling === undefined || !Number.isFinite(ceiling) ? 'unknown' : ceiling < target ? 'unreachable' : 'reachable';
