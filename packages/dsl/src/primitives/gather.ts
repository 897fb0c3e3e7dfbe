/**
 * `gatherPositions(input)`: picks positions along the sequence axis, read from a side input
 * (e.g. the masked positions of masked-language-model pretraining).
 * @example
 * ```ts
 * seq(gatherPositions('masked_lm_positions'), dense(128, 30000)); // logits at masked positions only
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Layer, Same } from '../layer.js';
import type { Primitive } from '../primitive.js';
import { need, sequence, sideInput, tensorSig, type SideInputSpec, type TensorSig } from '../sig.js';

/** The value of {@link gatherPositions}. */
export interface GatherNode {
  readonly kind: 'gather';
  /** Side input holding positions (`[batch, k]` int32) to pick along the sequence axis. */
  readonly input: string;
}

/**
 * Picks positions along the sequence axis: `[batch, seq, dim] → [batch, k, dim]`, with positions
 * from the side input `input` (`[batch, k]` int32). Used to compute MLM logits only where tokens
 * were masked.
 * @example gatherPositions('masked_lm_positions')
 */
export const gatherPositions = (input: string): Layer<Same, Same> => ({ kind: 'gather', input });

const positions = (n: GatherNode): SideInputSpec => ({ name: n.input, dtype: 'int32', ranks: [2], required: true, what: 'positions [batch, k]' });

/** The gather primitive. */
export const gatherPrimitive: Primitive<GatherNode> = {
  kind: 'gather',
  check: (n) => need(n.input !== '', 'input name must not be empty'),
  shape: (n, x, env) =>
    E.chain((s: TensorSig) =>
      E.map((p: TensorSig | undefined) => tensorSig([s.shape[0] ?? null, p?.shape[1] ?? null, s.shape[2] ?? null]))(sideInput(env.side, positions(n), s)),
    )(sequence(x, null)),
  params: () => [],
  sideInputs: (n) => [positions(n)],
  compile: (n) => {
    const input = n.input;
    return (xt, rt) => {
      const [b, s, d] = xt.shape as [number, number, number];
      const pos = rt.side[input];
      if (!pos) throw new Error(`missing side input "${input}"`);
      const k = pos.shape[1] as number;
      const offsets = tf.reshape(tf.mul(tf.range(0, b, 1, 'int32'), tf.scalar(s, 'int32')), [b, 1]);
      const flat = tf.reshape(tf.add(pos, offsets), [b * k]);
      return tf.reshape(tf.gather(tf.reshape(xt, [b * s, d]), flat), [b, k, d]);
    };
  },
  flops: () => 0,
  label: () => 'gather',
  codec: t.strict({ kind: t.literal('gather'), input: t.string }),
};
