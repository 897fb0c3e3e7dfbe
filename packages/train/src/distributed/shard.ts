/**
 * Data parallelism over a global batch: worker `i` of `n` takes a disjoint, contiguous,
 * deterministic block of rows of every global (micro-)batch, and the loss of its share is
 * normalised by the global batch's totals, so the average over workers of the share losses (and of
 * their gradients) is exactly the loss (and gradient) of the global batch. With dropout off, n
 * workers follow the single-process trajectory up to float rounding.
 *
 * @example
 * ```ts
 * const rows = shareRows(8, 2, 1);              // { start: 4, end: 8 }
 * const mine = shareOf(globalBatch, 2, 1);      // rows 4..7 of the global batch
 * const totals = globalTotals(globalBatch);     // { rows: 8, mlmWeight: 37 }
 * ```
 * @module
 */
import type { Batch } from '@lamina/albert';

/** The rows `[start, end)` of a global batch of `rows` that worker `task` of `workers` takes. */
export const shareRows = (rows: number, workers: number, task: number): { readonly start: number; readonly end: number } => ({
  start: Math.floor((task * rows) / workers),
  end: Math.floor(((task + 1) * rows) / workers),
});

/** What the share losses are normalised by: the global batch's row count and MLM weight sum. */
export interface GlobalTotals {
  readonly rows: number;
  /** Σ masked-LM weights of the global batch (the MLM loss's denominator). */
  readonly mlmWeight: number;
}

/** The totals of a global batch. */
export const globalTotals = (b: Batch): GlobalTotals => {
  let w = 0;
  for (const x of b.maskedLmWeights) w += x;
  return { rows: b.shapes.inputIds[0], mlmWeight: w };
};

/** Worker `task`'s share of a global batch (a copy of its rows; every field keeps its layout). */
export const shareOf = (b: Batch, workers: number, task: number): Batch => {
  const [B, S] = b.shapes.inputIds;
  const [, P] = b.shapes.maskedLm;
  const { start, end } = shareRows(B, workers, task);
  const n = end - start;
  const rowsOf = (a: Int32Array, width: number): Int32Array => a.slice(start * width, end * width);
  return {
    batchSize: n,
    seqLength: b.seqLength,
    maxPredictions: b.maxPredictions,
    inputIds: rowsOf(b.inputIds, S),
    tokenTypeIds: rowsOf(b.tokenTypeIds, S),
    attentionMask: rowsOf(b.attentionMask, S),
    maskedLmPositions: rowsOf(b.maskedLmPositions, P),
    maskedLmIds: rowsOf(b.maskedLmIds, P),
    maskedLmWeights: rowsOf(b.maskedLmWeights, P),
    sentenceOrderLabel: rowsOf(b.sentenceOrderLabel, 1),
    shapes: { inputIds: [n, S], maskedLm: [n, P], sentenceOrderLabel: [n] },
  };
};
