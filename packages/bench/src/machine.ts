/**
 * What the machine can do, measured in the same run as everything else: the native backend's
 * rate on a large square matmul (the denominator of utilisation), and process memory.
 *
 * @example
 * ```ts
 * const r = await matmulRate(2048, 3);  // { n: 2048, flops: 2·2048³, seconds: [..3 samples] }
 * const gflops = r.flops / summarize(r.seconds).median / 1e9;
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';

/** Samples of one `[n×n]·[n×n]` product on the current backend. */
export interface MatmulSample {
  readonly n: number;
  /** FLOPs of one product: 2n³. */
  readonly flops: number;
  readonly seconds: number[];
}

/**
 * Times `repeats` products of two random `n×n` float32 matrices (after one untimed product),
 * each ending with a read of one element so the work is done.
 * @example await matmulRate(512, 2)
 */
export const matmulRate = async (n: number, repeats: number): Promise<MatmulSample> => {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const once = async () => {
    const c = tf.matMul(a, b);
    const probe = tf.slice(tf.reshape(c, [-1]), [0], [1]);
    await probe.data();
    tf.dispose([c, probe]);
  };
  await once();
  const seconds: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await once();
    seconds.push((performance.now() - t0) / 1000);
  }
  tf.dispose([a, b]);
  return { n, flops: 2 * n ** 3, seconds };
};
