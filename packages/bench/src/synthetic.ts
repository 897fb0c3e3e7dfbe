/**
 * Synthetic pretraining batches with the statistics of real ones (full-length rows, two segments,
 * `P` masked positions per row, random labels), deterministic per seed. Every system in a
 * comparison gets the same shapes; no padding, so every system does the same work.
 *
 * @example
 * ```ts
 * const b = syntheticBatch({ vocabSize: 30000 }, { batch: 8, seq: 128, predictions: 20, seed: 1 });
 * b.shapes.inputIds; // [8, 128]
 * ```
 * @module
 */
import type { Batch } from '@lamina/albert';

/** Shape and seed of a synthetic batch. */
export interface SyntheticShape {
  readonly batch: number;
  readonly seq: number;
  /** Masked positions per row (ALBERT uses 20 for 128 tokens). */
  readonly predictions: number;
  readonly seed: number;
}

/** A small deterministic PRNG (mulberry32). */
const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/**
 * A padded-batch value (no padding used) for a model of `vocabSize`: ids in `[5, V)`, the second
 * half of each row segment 1, `predictions` distinct masked positions in `[1, S)` per row.
 * @example syntheticBatch({ vocabSize: 99 }, { batch: 2, seq: 16, predictions: 3, seed: 0 }).maskedLmIds.length // 6
 */
export const syntheticBatch = (c: { readonly vocabSize: number }, s: SyntheticShape): Batch => {
  const { batch: B, seq: S, predictions: P } = s;
  const r = mulberry32(s.seed);
  const id = () => 5 + Math.floor(r() * (c.vocabSize - 5));
  const inputIds = Int32Array.from({ length: B * S }, id);
  const tokenTypeIds = Int32Array.from({ length: B * S }, (_, i) => (i % S >= S >> 1 ? 1 : 0));
  const attentionMask = new Int32Array(B * S).fill(1);
  const maskedLmPositions = new Int32Array(B * P);
  const maskedLmIds = new Int32Array(B * P);
  const maskedLmWeights = new Int32Array(B * P).fill(1);
  for (let b = 0; b < B; b++) {
    const pool = Array.from({ length: S - 1 }, (_, i) => i + 1);
    for (let k = 0; k < P; k++) {
      const j = k + Math.floor(r() * (pool.length - k));
      [pool[k], pool[j]] = [pool[j] as number, pool[k] as number];
      maskedLmPositions[b * P + k] = pool[k] as number;
      maskedLmIds[b * P + k] = id();
    }
  }
  const sentenceOrderLabel = Int32Array.from({ length: B }, () => (r() < 0.5 ? 0 : 1));
  return {
    batchSize: B,
    seqLength: S,
    maxPredictions: P,
    inputIds,
    tokenTypeIds,
    attentionMask,
    maskedLmPositions,
    maskedLmIds,
    maskedLmWeights,
    sentenceOrderLabel,
    shapes: { inputIds: [B, S], maskedLm: [B, P], sentenceOrderLabel: [B] },
  };
};
