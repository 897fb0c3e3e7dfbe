// The graph engine of the pretraining step (one TensorFlow function per step) against the eager
// engine: same losses, gradient norms and parameters over 20 steps, for ALBERT and BERT tiny
// configurations (with dropout, gradient accumulation and LAMB/AdamW); one trace per batch
// shape; a flat live-tensor count over many steps.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { unwrap, type RawTensor } from '@lamina/dsl';
import { collate, tinyConfig, type AlbertConfig, type Batch, type Instance } from '@lamina/albert';
import { createPretrainer, type PretrainerOptions } from '../src/pretrainer.js';
import { globalTotals, shareOf } from '../src/distributed/shard.js';

const instances = (n: number, seed: number, len0 = 8): Instance[] =>
  Array.from({ length: n }, (_, i) => {
    const len = len0 + ((i + seed) % 5);
    const ids = Int32Array.from({ length: len }, (_, j) => (j === 0 ? 2 : j === len - 1 || j === 4 ? 3 : 5 + ((i * 7 + j * 3 + seed) % 30)));
    const types = Int32Array.from({ length: len }, (_, j) => (j > 4 ? 1 : 0));
    const positions = Int32Array.from([1, 6]);
    const original = Int32Array.from([ids[1] as number, ids[6] as number]);
    ids[1] = 4;
    ids[6] = 4;
    return { inputIds: ids, tokenTypeIds: types, maskedLmPositions: positions, maskedLmIds: original, sentenceOrderLabel: ((i + seed) % 2) as 0 | 1 };
  });
const batch = (xs: Instance[], seqLength = 14): Batch => collate(xs, { seqLength, maxPredictions: 3, padId: 0 });
const read = (t: tf.Tensor): number => t.dataSync()[0] as number;
const relClose = (a: number, b: number, tol = 1e-5): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

const small = { vocabSize: 40, hiddenSize: 16, embeddingSize: 8, intermediateSize: 24, numAttentionHeads: 2, maxPositionEmbeddings: 16 };
const albert: AlbertConfig = tinyConfig({ ...small, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1 });
const bert: AlbertConfig = tinyConfig({ ...small, sharing: 'none', factorized: false, embeddingSize: 16, hiddenDropoutProb: 0.1 });

/** Runs `steps` steps on both engines and compares everything a step reports, and the parameters. */
const compareEngines = (opts: PretrainerOptions, steps: number, microOf: (s: number) => Batch[], expectNotices: RegExp[] = []): void => {
  const notices: string[] = [];
  const eager = unwrap(createPretrainer({ ...opts, engine: 'eager' }));
  const graph = unwrap(createPretrainer({ ...opts, engine: 'graph', onNotice: (l) => notices.push(l) }));
  for (let s = 0; s < steps; s++) {
    const lr = 1e-2 * (1 - s / (2 * steps));
    const a = eager.trainStep(microOf(s), lr, s);
    const b = graph.trainStep(microOf(s), lr, s);
    for (const key of ['loss', 'mlmLoss', 'orderLoss', 'gradNorm'] as const) {
      const x = read(a[key]);
      const y = read(b[key]);
      expect(relClose(x, y), `step ${s} ${key}: eager ${x} graph ${y}`).toBe(true);
    }
    a.dispose();
    b.dispose();
  }
  expect(notices).toHaveLength(expectNotices.length);
  expectNotices.forEach((re, i) => expect(notices[i]).toMatch(re));
  expect(graph.engine()).toBe('graph');
  for (const k of Object.keys(eager.params)) {
    const d = tf.tidy(() => {
      const x = eager.params[k] as tf.Tensor;
      const y = graph.params[k] as tf.Tensor;
      return read(tf.div(tf.max(tf.abs(tf.sub(x, y))), tf.maximum(tf.max(tf.abs(x)), 1)));
    });
    expect(d, k).toBeLessThanOrEqual(1e-5);
  }
  const sa = eager.optimizer.state();
  const sb = graph.optimizer.state();
  expect(Object.keys(sb).sort()).toEqual(Object.keys(sa).sort());
  expect(read(sb.global_step as tf.Tensor)).toBe(steps);
  tf.dispose([...Object.values(sa), ...Object.values(sb)]);
  eager.dispose();
  graph.dispose();
};

/** Runs `steps` graph steps over two batch shapes: two traces, and the tfjs and native tensor counts flat from step 10 on. */
const expectFlatOver = (opts: PretrainerOptions, steps: number): void => {
  const t = unwrap(createPretrainer({ ...opts, engine: 'graph', onNotice: () => {} }));
  const shapes = [batch(instances(2, 0)), batch(instances(2, 1), 12)];
  const counts: number[] = [];
  const native: number[] = [];
  const binding = (tf.backend() as unknown as { binding: { getNumOfTensors(): number } }).binding;
  for (let s = 0; s < steps; s++) {
    const r = t.trainStep([shapes[s % 2] as Batch], 1e-3, s);
    expect(Number.isFinite(read(r.loss))).toBe(true);
    r.dispose();
    if (s >= 10) {
      counts.push(tf.memory().numTensors);
      native.push(binding.getNumOfTensors());
    }
  }
  expect(t.tracedFunctions()).toBe(2);
  expect(new Set(counts).size).toBe(1);
  expect(new Set(native).size).toBe(1);
  t.dispose();
};

describe('graph training step', () => {
  it('matches the eager step over 20 steps: tiny ALBERT, dropout on, LAMB, two batch shapes', () => {
    const b1 = batch(instances(4, 0));
    const b2 = batch(instances(4, 1), 12);
    compareEngines({ config: albert, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 3, clipNorm: 1 }, 20, (s) => [s % 3 === 2 ? b2 : b1]);
  });

  it('matches the eager step over 20 steps: tiny BERT (no sharing, no factorization), AdamW, all-position MLM, 2 micro-batches', () => {
    const xs = instances(8, 2);
    const micro = [batch(xs.slice(0, 4)), batch(xs.slice(4))];
    compareEngines({ config: bert, objective: 'nsp', mlmPositions: 'all', optimizer: 'adamw', seed: 5, clipNorm: 0.5, hyper: { biasCorrection: true } }, 20, () => micro);
  });

  // the update outside the function, one parameter at a time (what large models get by default)
  const PER_PARAMETER = /^graph step: [\d,]+ parameters: the optimizer update runs per parameter after the step's function, so old and new weights never coexist$/;

  it('with the update per parameter, matches the eager step over 20 steps: tiny ALBERT, dropout on, LAMB, two batch shapes', () => {
    const b1 = batch(instances(4, 0));
    const b2 = batch(instances(4, 1), 12);
    compareEngines({ config: albert, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 3, clipNorm: 1, update: 'per-parameter' }, 20, (s) => [s % 3 === 2 ? b2 : b1], [PER_PARAMETER]);
  });

  it('with the update per parameter, matches the eager step over 20 steps: tiny BERT, AdamW, 2 micro-batches', () => {
    const xs = instances(8, 2);
    const micro = [batch(xs.slice(0, 4)), batch(xs.slice(4))];
    compareEngines({ config: bert, objective: 'nsp', mlmPositions: 'all', optimizer: 'adamw', seed: 5, clipNorm: 0.5, hyper: { biasCorrection: true }, update: 'per-parameter' }, 20, () => micro, [PER_PARAMETER]);
  });

  it('with the update per parameter, a data-parallel step (worker shares, an identity all-reduce inside the function) matches the eager one', () => {
    const b = batch(instances(4, 0));
    const opts: PretrainerOptions = { config: albert, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 3, clipNorm: 1 };
    const notices: string[] = [];
    const eager = unwrap(createPretrainer({ ...opts, engine: 'eager' }));
    const graph = unwrap(createPretrainer({ ...opts, engine: 'graph', update: 'per-parameter', onNotice: (l) => notices.push(l) }));
    // each step one worker's share, normalised by the global batch's totals; the all-reduce (an average over workers) is the identity here
    const parallel = { workers: 2, totals: [globalTotals(b)], allReduce: (v: tf.Tensor1D) => tf.mul(v, 1) as tf.Tensor1D };
    for (let s = 0; s < 6; s++) {
      const share = shareOf(b, 2, s % 2);
      const x = eager.trainStep([share], 1e-2, s, parallel);
      const y = graph.trainStep([share], 1e-2, s, parallel);
      for (const key of ['loss', 'mlmLoss', 'orderLoss', 'gradNorm'] as const) expect(relClose(read(x[key]), read(y[key])), `step ${s} ${key}: eager ${read(x[key])} graph ${read(y[key])}`).toBe(true);
      x.dispose();
      y.dispose();
    }
    expect(notices).toHaveLength(1);
    expect(graph.engine()).toBe('graph');
    for (const k of Object.keys(eager.params)) {
      const d = tf.tidy(() => read(tf.div(tf.max(tf.abs(tf.sub(eager.params[k]!, graph.params[k]!))), tf.maximum(tf.max(tf.abs(eager.params[k]!)), 1))));
      expect(d, k).toBeLessThanOrEqual(1e-5);
    }
    eager.dispose();
    graph.dispose();
  });

  it('with the update per parameter, resumes bit for bit from the parameters and optimizer state of step 3', () => {
    const xs = instances(4, 0);
    const opts: PretrainerOptions = { config: albert, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 3, clipNorm: 1, engine: 'graph', update: 'per-parameter', onNotice: () => {} };
    const through = unwrap(createPretrainer(opts));
    const first = unwrap(createPretrainer(opts));
    const b = batch(xs);
    const run = (t: typeof through, from: number, to: number): number[] => {
      const losses: number[] = [];
      for (let s = from; s < to; s++) {
        const r = t.trainStep([b], 1e-2, s);
        losses.push(read(r.loss));
        r.dispose();
      }
      return losses;
    };
    const all = run(through, 0, 6);
    run(first, 0, 3);
    const raw: Record<string, RawTensor> = Object.fromEntries(Object.entries(first.params).map(([k, v]) => [k, { shape: [...v.shape], dtype: 'float32' as const, data: v.dataSync() as Float32Array }]));
    const resumed = unwrap(createPretrainer({ ...opts, initialParams: raw }));
    const st = first.optimizer.state();
    expect(E.isRight(resumed.optimizer.loadState(st, resumed.params))).toBe(true);
    tf.dispose(Object.values(st));
    expect(run(resumed, 3, 6)).toEqual(all.slice(3));
    for (const k of Object.keys(through.params)) expect(Array.from(resumed.params[k]!.dataSync()), k).toEqual(Array.from(through.params[k]!.dataSync()));
    [through, first, resumed].forEach((t) => t.dispose());
  });

  it('with the update per parameter, traces once per batch shape and keeps the live tensor count flat over 100 steps', () => {
    expectFlatOver({ config: albert, objective: 'sop', mlmPositions: 'masked', optimizer: 'lamb', seed: 1, update: 'per-parameter' }, 100);
  });

  it('traces once per batch shape and keeps the live tensor count flat over 300 steps', () => {
    expectFlatOver({ config: albert, objective: 'sop', mlmPositions: 'masked', optimizer: 'adamw', seed: 1 }, 300);
  });
});
