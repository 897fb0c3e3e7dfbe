// In-process laws of the data-parallel helpers every engine shares: the packed reduction
// (reduceAcrossWorkers) with the identity average returns its inputs (a missing gradient as zeros),
// and sharded evaluation (shardedResults) over a simulated group of n workers gives every item's
// result exactly, as one process computing all of them.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { reduceAcrossWorkers } from '../src/core/step.js';
import { shardedResults } from '../src/distributed/worker.js';
import type { DataParallelGroup } from '../src/distributed/group.js';

/** A group of `size` seen from `task` whose sumAll records this worker's vector and adds `others`. */
const fakeGroup = (size: number, task: number, others: Float32Array | undefined, seen: Float32Array[]): DataParallelGroup => ({
  size,
  taskIndex: task,
  workers: Array.from({ length: size }, (_, j) => `127.0.0.1:${5000 + j}`),
  resumeHint: '',
  allReduce: (v) => v,
  agree: () => {
    throw new Error('not used');
  },
  describeFailure: () => undefined,
  sumAll: (v) => {
    seen.push(v);
    return others ? v.map((x, i) => x + (others[i] as number)) : v;
  },
  allReduceSeconds: () => 0,
  allReduceCalls: () => 0,
});

describe('reduceAcrossWorkers', () => {
  it('with the identity average returns the gradients (zeros where missing), the scalars and the extras', () => {
    const r = tf.tidy(() => {
      const out = reduceAcrossWorkers((v) => v, [['a', [2, 3]], ['b', [4]]], { a: tf.range(0, 6).reshape([2, 3]) }, [tf.scalar(1.5), tf.scalar(-2)], tf.tensor1d([7, 8]));
      return { a: out.grads.a!.arraySync(), b: out.grads.b!.arraySync(), s: out.scalars.map((x) => x.arraySync()), e: out.extras.arraySync() };
    });
    expect(r).toEqual({ a: [[0, 1, 2], [3, 4, 5]], b: [0, 0, 0, 0], s: [1.5, -2], e: [7, 8] });
  });
});

describe('shardedResults', () => {
  it('n simulated workers, each computing its items only, gather every item exactly (as one process), with or without sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 4 }), fc.array(fc.array(fc.float({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 4 }), { maxLength: 7 }), fc.boolean(), async (size, items, withSizes) => {
        // without sizes all items have one length
        const data = withSizes ? items : items.map((x) => items[0]!.map((_, i) => x[i] ?? 0.5));
        const sizes = withSizes ? data.map((x) => x.length) : undefined;
        const computedBy: number[][] = [];
        const run = async (task: number, others?: Float32Array) => {
          const seen: Float32Array[] = [];
          const r = await shardedResults(fakeGroup(size, task, others, seen), data.length, async (i) => {
            (computedBy[task] ??= []).push(i);
            return Float32Array.from(data[i]!);
          }, sizes);
          return { r, sent: seen[0] };
        };
        // the other workers' vectors first, then task 0 gets their sum added to its own
        let others: Float32Array | undefined;
        for (let t = 1; t < size; t++) {
          const { sent } = await run(t);
          if (sent) others = others ? others.map((x, i) => x + (sent[i] as number)) : sent;
        }
        const { r } = await run(0, others);
        // exact up to the sign of zero: the gather is a sum, and IEEE gives -0 + +0 = +0
        const unsigned = (x: ArrayLike<number>) => Array.from(x, (v) => (v === 0 ? 0 : v));
        expect(r.map(unsigned)).toEqual(data.map((x) => unsigned(Float32Array.from(x))));
        // each item was computed by task i mod size (a worker with none computes item 0 only to learn the width)
        for (let t = 0; t < size; t++) {
          const mine = data.map((_, i) => i).filter((i) => i % size === t);
          expect(computedBy[t] ?? []).toEqual(mine.length === 0 && !withSizes && data.length > 0 ? [0] : mine);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('without a group computes every item in order', async () => {
    const r = await shardedResults(undefined, 3, async (i) => [i, i * 2]);
    expect(r.map((x) => Array.from(x))).toEqual([[0, 0], [1, 2], [2, 4]]);
  });
});
