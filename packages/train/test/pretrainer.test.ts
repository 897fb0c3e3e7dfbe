// The pretraining step: it learns, it leaks no tensors, gradient accumulation equals the large
// batch, and the masked-positions loss equals the all-positions loss.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { unwrap } from '@lamina/dsl';
import { collate, tinyConfig, type Batch, type Instance } from '@lamina/albert';
import { createPretrainer, type PretrainerOptions } from '../src/pretrainer.js';

const config = tinyConfig({ vocabSize: 40, hiddenSize: 16, embeddingSize: 8, intermediateSize: 24, numAttentionHeads: 2, maxPositionEmbeddings: 16 });

/** Deterministic synthetic instances: [CLS]=2 A [SEP]=3 B [SEP], masked positions with their ids. */
const instances = (n: number, seed: number): Instance[] =>
  Array.from({ length: n }, (_, i) => {
    const len = 8 + ((i + seed) % 5);
    const ids = Int32Array.from({ length: len }, (_, j) => (j === 0 ? 2 : j === len - 1 || j === 4 ? 3 : 5 + ((i * 7 + j * 3 + seed) % 30)));
    const types = Int32Array.from({ length: len }, (_, j) => (j > 4 ? 1 : 0));
    const positions = Int32Array.from([1, 6]);
    const original = Int32Array.from([ids[1] as number, ids[6] as number]);
    ids[1] = 4;
    ids[6] = 4;
    return { inputIds: ids, tokenTypeIds: types, maskedLmPositions: positions, maskedLmIds: original, sentenceOrderLabel: ((i + seed) % 2) as 0 | 1 };
  });
const batch = (xs: Instance[]): Batch => collate(xs, { seqLength: 14, maxPredictions: 3, padId: 0 });
const base: PretrainerOptions = { config, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 3, clipNorm: 1 };
const read = (t: tf.Tensor): number => t.dataSync()[0] as number;

describe('pretrainer', () => {
  it('decreases the loss on a fixed batch and keeps the number of live tensors constant', () => {
    const t = unwrap(createPretrainer(base));
    const b = batch(instances(8, 0));
    const first = t.trainStep([b], 3e-2);
    const l0 = read(first.loss);
    first.dispose();
    let counts: number[] = [];
    let last = l0;
    for (let s = 1; s < 40; s++) {
      const r = t.trainStep([b], 3e-2);
      last = read(r.loss);
      expect(Number.isFinite(read(r.gradNorm))).toBe(true);
      r.dispose();
      counts.push(tf.memory().numTensors);
    }
    counts = counts.slice(2);
    expect(new Set(counts).size).toBe(1);
    expect(last).toBeLessThan(l0 * 0.75);
    t.dispose();
  });

  it('k micro-batches give the same update as one batch of the same examples (dropout off)', () => {
    const xs = instances(8, 1);
    const a = unwrap(createPretrainer(base));
    const b = unwrap(createPretrainer(base));
    a.trainStep([batch(xs)], 1e-2, 0).dispose();
    b.trainStep([batch(xs.slice(0, 4)), batch(xs.slice(4))], 1e-2, 0).dispose();
    // averaging over micro-batches equals the large-batch mean only when every micro-batch has
    // the same number of masked tokens; our synthetic instances do (2 each).
    for (const k of Object.keys(a.params)) {
      const d = read(tf.max(tf.abs(tf.sub(a.params[k] as tf.Tensor, b.params[k] as tf.Tensor))));
      expect(d, k).toBeLessThan(1e-5);
    }
    a.dispose();
    b.dispose();
  });

  it('MLM at every position and at masked positions give the same loss and gradients', () => {
    const xs = instances(4, 2);
    const masked = unwrap(createPretrainer({ ...base, mlmPositions: 'masked' }));
    const all = unwrap(createPretrainer({ ...base, mlmPositions: 'all' }));
    const r1 = masked.trainStep([batch(xs)], 1e-2, 0);
    const r2 = all.trainStep([batch(xs)], 1e-2, 0);
    expect(Math.abs(read(r1.loss) - read(r2.loss))).toBeLessThan(1e-5);
    expect(Math.abs(read(r1.gradNorm) - read(r2.gradNorm))).toBeLessThan(1e-4);
    r1.dispose();
    r2.dispose();
    masked.dispose();
    all.dispose();
  });

  it('evaluate returns counts that add up', async () => {
    const t = unwrap(createPretrainer(base));
    const e = await t.evaluate(batch(instances(6, 3)));
    expect(e.mlmCount).toBe(12);
    expect(e.orderCount).toBe(6);
    expect(e.mlmCorrect).toBeGreaterThanOrEqual(0);
    expect(e.mlmCorrect).toBeLessThanOrEqual(12);
    expect(e.mlmLossSum / e.mlmCount).toBeGreaterThan(0);
    t.dispose();
  });

  it('initial parameters that do not fit are an error naming them', () => {
    const r = createPretrainer({ ...base, initialParams: { 'pooler.kernel': { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) } } });
    expect(r._tag).toBe('Left');
    if (r._tag === 'Left') expect(r.left.message).toMatch(/pooler.kernel has shape \[2, 2\], expected \[16, 16\]/);
  });
});
