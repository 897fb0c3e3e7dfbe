/**
 * Padded batches as plain typed arrays (the trainer turns them into int32 tensors; this module has
 * no tfjs so it stays fast and testable), and an endless, resumable batch iterator.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { dataError, type DataError } from './errors.js';
import type { Instance } from './instances.js';
import { rng, shuffleInPlace } from './prng.js';

/**
 * A padded batch: row-major `[B, S]` / `[B, P]` / `[B]` int32 arrays with their shapes.
 * @example
 * const b: Batch = collate(instances, { seqLength: 128, maxPredictions: 20, padId: 0 });
 * b.inputIds.length === b.batchSize * b.seqLength; // true
 */
export interface Batch {
  readonly batchSize: number;
  readonly seqLength: number;
  readonly maxPredictions: number;
  /** `[B, S]` token ids, padded with the pad id. */
  readonly inputIds: Int32Array;
  /** `[B, S]` segment ids (0 for `[CLS] A [SEP]`, 1 for `B [SEP]`, 0 on padding). */
  readonly tokenTypeIds: Int32Array;
  /** `[B, S]` 1 on real tokens, 0 on padding. */
  readonly attentionMask: Int32Array;
  /** `[B, P]` masked positions; padding entries are 0 with weight 0. */
  readonly maskedLmPositions: Int32Array;
  /** `[B, P]` original ids at the masked positions (0 on padding). */
  readonly maskedLmIds: Int32Array;
  /** `[B, P]` 1 for a real prediction, 0 for padding. */
  readonly maskedLmWeights: Int32Array;
  /** `[B]` sentence-order (or next-sentence) labels. */
  readonly sentenceOrderLabel: Int32Array;
  readonly shapes: {
    readonly inputIds: readonly [number, number];
    readonly maskedLm: readonly [number, number];
    readonly sentenceOrderLabel: readonly [number];
  };
}

/**
 * Sizes a batch is padded to.
 * @example
 * const shape: BatchShape = { seqLength: 128, maxPredictions: 20, padId: tokenizer.special.pad };
 */
export interface BatchShape {
  readonly seqLength: number;
  readonly maxPredictions: number;
  readonly padId: number;
}

/**
 * Pads and stacks instances into one {@link Batch}. Instances longer than the shape are a
 * programming error upstream (instance creation never produces them) and are truncated defensively.
 * @example
 * const b = collate(instances.slice(0, 8), { seqLength: 128, maxPredictions: 20, padId: 0 });
 * b.shapes.inputIds; // [8, 128]
 */
export const collate = (xs: readonly Instance[], s: BatchShape): Batch => {
  const B = xs.length;
  const S = s.seqLength;
  const P = s.maxPredictions;
  const inputIds = new Int32Array(B * S).fill(s.padId);
  const tokenTypeIds = new Int32Array(B * S);
  const attentionMask = new Int32Array(B * S);
  const maskedLmPositions = new Int32Array(B * P);
  const maskedLmIds = new Int32Array(B * P);
  const maskedLmWeights = new Int32Array(B * P);
  const sentenceOrderLabel = new Int32Array(B);
  xs.forEach((x, b) => {
    const n = Math.min(x.inputIds.length, S);
    inputIds.set(x.inputIds.subarray(0, n), b * S);
    tokenTypeIds.set(x.tokenTypeIds.subarray(0, n), b * S);
    attentionMask.fill(1, b * S, b * S + n);
    let k = 0;
    for (let j = 0; j < x.maskedLmPositions.length && k < P; j++) {
      const pos = x.maskedLmPositions[j] as number;
      if (pos >= n) continue;
      maskedLmPositions[b * P + k] = pos;
      maskedLmIds[b * P + k] = x.maskedLmIds[j] as number;
      maskedLmWeights[b * P + k] = 1;
      k++;
    }
    sentenceOrderLabel[b] = x.sentenceOrderLabel;
  });
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

/**
 * Random access to a fixed set of instances (an array, or a cached dataset on disk).
 * @example
 * const src: InstanceSource = arraySource(instances); // or an opened dataset cache
 */
export interface InstanceSource {
  readonly size: number;
  readonly get: (i: number) => Instance;
}

/**
 * Where a {@link BatchIterator} is: `cursor` instances consumed so far in the seed's order. Saving
 * it with a checkpoint and passing it back resumes exactly.
 * @example
 * const saved: BatchCursor = it.state(); // e.g. { seed: 1, cursor: 4096 }, stored with the checkpoint
 */
export interface BatchCursor {
  readonly seed: number;
  readonly cursor: number;
}

/**
 * An endless iterator of batches over epochs.
 * @example
 * const b = it.next().value; it.epoch(); it.state();
 */
export interface BatchIterator extends Iterator<Batch> {
  /** The next batch (never done). */
  readonly next: () => IteratorResult<Batch, never> & { value: Batch };
  /** The position to resume from. */
  readonly state: () => BatchCursor;
  /** The epoch the next instance belongs to (0-based). */
  readonly epoch: () => number;
}

/**
 * Wraps an array as an {@link InstanceSource}.
 * @example
 * arraySource([a, b]).get(1) === b; // true
 */
export const arraySource = (xs: readonly Instance[]): InstanceSource => ({ size: xs.length, get: (i) => xs[i] as Instance });

/**
 * Yields batches forever (an empty source or a bad batch size is an error value): each epoch visits every instance once in an order that is a function of
 * (seed, epoch); batches run across epoch boundaries. Start from a saved {@link BatchCursor} to
 * continue exactly where a run stopped.
 * @example
 * const it = pipe(batchIterator(source, { batchSize: 32, seqLength: 128, maxPredictions: 20, padId: 0, seed: 1 }), E.getOrElseW(fail));
 * const b = it.next().value; const saved = it.state();
 * const resumed = batchIterator(source, { batchSize: 32, seqLength: 128, maxPredictions: 20, padId: 0, seed: 1 }, saved);
 */
export const batchIterator = (
  src: InstanceSource,
  o: BatchShape & { readonly batchSize: number; readonly seed: number; readonly shuffle?: boolean },
  from?: BatchCursor,
): E.Either<DataError, BatchIterator> => {
  if (src.size === 0) return E.left(dataError('empty-corpus', 'the dataset has no instances to batch'));
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) return E.left(dataError('bad-options', `batchSize must be a positive integer, got ${o.batchSize}`));
  if (from !== undefined && (!Number.isInteger(from.cursor) || from.cursor < 0)) return E.left(dataError('bad-options', `cursor must be a non-negative integer, got ${from.cursor}`));
  let cursor = from?.cursor ?? 0;
  const seed = from?.seed ?? o.seed;
  let permEpoch = -1;
  let perm: number[] = [];
  const order = (epoch: number): number[] => {
    if (epoch !== permEpoch) {
      perm = Array.from({ length: src.size }, (_, i) => i);
      if (o.shuffle !== false) shuffleInPlace(perm, rng(seed, 0x5eed, epoch));
      permEpoch = epoch;
    }
    return perm;
  };
  const next = (): IteratorResult<Batch, never> & { value: Batch } => {
    const xs: Instance[] = [];
    for (let k = 0; k < o.batchSize; k++, cursor++) {
      const epoch = Math.floor(cursor / src.size);
      xs.push(src.get(order(epoch)[cursor % src.size] as number));
    }
    return { done: false, value: collate(xs, o) };
  };
  return E.right({
    next,
    state: () => ({ seed, cursor }),
    epoch: () => Math.floor(cursor / src.size),
    [Symbol.iterator]() {
      return this;
    },
  } as BatchIterator);
};
