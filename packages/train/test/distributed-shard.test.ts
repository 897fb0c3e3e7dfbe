// Data parallelism's arithmetic, in one process: shares partition every global batch, and the
// average of the workers' share gradients (what CollectiveReduceV2 Add+Div computes) gives the
// same step as the global batch on one worker. The network path is tested in distributed.test.ts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { unwrap } from '@lamina/dsl';
import { collate, tinyConfig, type Batch, type Instance } from '@lamina/albert';
import { createPretrainer, type Pretrainer, type PretrainerOptions } from '../src/pretrainer.js';
import { globalTotals, shareOf, shareRows } from '../src/distributed/shard.js';

const config = tinyConfig({ vocabSize: 40, hiddenSize: 16, embeddingSize: 8, intermediateSize: 24, numAttentionHeads: 2, maxPositionEmbeddings: 16 });

/** Instances with 1 to 3 masked tokens, so the shares' MLM denominators differ. */
const instances = (n: number, seed: number): Instance[] =>
  Array.from({ length: n }, (_, i) => {
    const len = 8 + ((i + seed) % 5);
    const ids = Int32Array.from({ length: len }, (_, j) => (j === 0 ? 2 : j === len - 1 || j === 4 ? 3 : 5 + ((i * 7 + j * 3 + seed) % 30)));
    const types = Int32Array.from({ length: len }, (_, j) => (j > 4 ? 1 : 0));
    const positions = Int32Array.from([1, 6, 2].slice(0, 1 + ((i * 5 + seed) % 3)));
    const original = Int32Array.from(Array.from(positions, (p) => ids[p] as number));
    for (const p of positions) ids[p] = 4;
    return { inputIds: ids, tokenTypeIds: types, maskedLmPositions: positions, maskedLmIds: original, sentenceOrderLabel: ((i + seed) % 2) as 0 | 1 };
  });
const batch = (xs: Instance[]): Batch => collate(xs, { seqLength: 14, maxPredictions: 3, padId: 0 });
const base: PretrainerOptions = { config, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 3, clipNorm: 1 };
const read = (t: tf.Tensor): number => t.dataSync()[0] as number;

describe('shares of a global batch', () => {
  it('are disjoint, contiguous and cover every row, in task order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 200 }), (workers, extra) => {
        const rows = workers + extra;
        let next = 0;
        for (let t = 0; t < workers; t++) {
          const { start, end } = shareRows(rows, workers, t);
          expect(start).toBe(next);
          expect(end).toBeGreaterThan(start);
          next = end;
        }
        expect(next).toBe(rows);
      }),
    );
  });

  it('copy their rows of every field; the global totals count rows and masked tokens', () => {
    const g = batch(instances(5, 2));
    const parts = [0, 1].map((t) => shareOf(g, 2, t));
    expect(parts.map((p) => p.shapes.inputIds[0])).toEqual([2, 3]);
    const cat = (f: (b: Batch) => Int32Array) => Array.from(parts.flatMap((p) => Array.from(f(p))));
    expect(cat((b) => b.inputIds)).toEqual(Array.from(g.inputIds));
    expect(cat((b) => b.maskedLmWeights)).toEqual(Array.from(g.maskedLmWeights));
    expect(cat((b) => b.sentenceOrderLabel)).toEqual(Array.from(g.sentenceOrderLabel));
    const t = globalTotals(g);
    expect(t.rows).toBe(5);
    expect(t.mlmWeight).toBe(Array.from(g.maskedLmWeights).reduce((a, b) => a + b, 0));
  });
});

const CAPTURED = new Error('captured');

/**
 * One data-parallel step of `workers` in this process: each first computes its flat share vector
 * (the step is abandoned at the all-reduce, before any update), then every worker steps with the
 * average, as the collective would hand it back.
 */
const virtualStep = (ws: readonly Pretrainer[], micro: readonly Batch[], lr: number, step: number): number[] => {
  const n = ws.length;
  const totals = micro.map(globalTotals);
  const flats: Float32Array[] = [];
  ws.forEach((w, task) => {
    try {
      w.trainStep(micro.map((b) => shareOf(b, n, task)), lr, step, {
        workers: n,
        totals,
        allReduce: (f) => {
          flats[task] = f.dataSync().slice() as Float32Array;
          throw CAPTURED;
        },
      });
    } catch (e) {
      if (e !== CAPTURED) throw e;
    }
  });
  const avg = (flats[0] as Float32Array).map((_, i) => flats.reduce((a, f) => a + (f[i] as number), 0) / n);
  return ws.map((w, task) => {
    const r = w.trainStep(micro.map((b) => shareOf(b, n, task)), lr, step, { workers: n, totals, allReduce: () => tf.tensor1d(avg) });
    const loss = read(r.loss);
    r.dispose();
    return loss;
  });
};

describe('data-parallel step (in-process average standing in for the collective)', () => {
  it('3 workers × shares of batch 7 (2 micro-batches) follow 1 process × batch 7 within 1e-5 over 4 steps', () => {
    const single = unwrap(createPretrainer(base));
    const ws = [0, 1, 2].map(() => unwrap(createPretrainer(base)));
    for (let step = 0; step < 4; step++) {
      const micro = [batch(instances(7, 10 * step)), batch(instances(7, 10 * step + 5))];
      const r = single.trainStep(micro, 1e-2, step);
      const want = read(r.loss);
      r.dispose();
      const got = virtualStep(ws, micro, 1e-2, step);
      for (const l of got) expect(Math.abs(l - want), `step ${step}`).toBeLessThan(1e-5);
    }
    for (const k of Object.keys(single.params)) {
      const d0 = read(tf.max(tf.abs(tf.sub(single.params[k] as tf.Tensor, ws[0]?.params[k] as tf.Tensor))));
      expect(d0, k).toBeLessThan(1e-5);
      // every worker holds the very same parameters (same averaged gradients, same update)
      for (const w of ws.slice(1)) expect(Array.from((w.params[k] as tf.Tensor).dataSync())).toEqual(Array.from((ws[0]?.params[k] as tf.Tensor).dataSync()));
    }
    [single, ...ws].forEach((t) => t.dispose());
  });

  it('a one-worker group with the identity all-reduce equals the plain step', () => {
    const a = unwrap(createPretrainer(base));
    const b = unwrap(createPretrainer(base));
    const g = batch(instances(6, 3));
    const ra = a.trainStep([g], 1e-2, 0);
    const rb = b.trainStep([g], 1e-2, 0, { workers: 1, totals: [globalTotals(g)], allReduce: (f) => f, extras: [1, 2] });
    expect(Math.abs(read(ra.loss) - read(rb.loss))).toBeLessThan(1e-6);
    expect(Array.from(rb.extras?.dataSync() ?? [])).toEqual([1, 2]);
    ra.dispose();
    rb.dispose();
    a.dispose();
    b.dispose();
  });
});
