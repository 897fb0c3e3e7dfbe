/**
 * lamina's side of the benchmarks: its real pretraining step (`createPretrainer` from
 * `@lamina/train`) and its compiled forward pass for inference.
 *
 * `createPretrainer` is looked up at run time (see {@link loadPretrainer}), so the bench reports
 * "not available" as a value instead of failing to load on a tree without the trainer.
 *
 * @example
 * ```ts
 * const loaded = await loadPretrainer();                  // Either<string, LoadedPretrainer>
 * if (E.isRight(loaded)) {
 *   const t = loaded.right.create({ config, objective: 'sop', mlmPositions: 'all', optimizer: 'adamw', seed: 1 });
 * }
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { albertForPretraining, type AlbertConfig, type Batch } from '@lamina/albert';
import { compile, compileToGraph, init, type ParamStore } from '@lamina/dsl';

/** The options `createPretrainer` takes (the subset the bench uses). */
export interface PretrainerOpts {
  readonly config: AlbertConfig;
  readonly objective: 'sop' | 'nsp' | 'none';
  readonly mlmPositions: 'masked' | 'all';
  readonly optimizer: 'lamb' | 'adamw';
  readonly seed: number;
  readonly clipNorm?: number;
  readonly initialParams?: Readonly<Record<string, { readonly dtype: string; readonly shape: readonly number[]; readonly data: Float32Array }>>;
  /** `graph`: one TensorFlow function per step (what `lamina pretrain` runs); `eager` (the trainer's default): op by op. */
  readonly engine?: 'graph' | 'eager';
  readonly xla?: boolean;
  /** Where the graph engine's one-line notices go (a fallback to eager is one). */
  readonly onNotice?: (line: string) => void;
}

/** The part of lamina's `Pretrainer` the bench drives. */
export interface PretrainerLike {
  readonly params: Record<string, tf.Variable>;
  trainStep(microBatches: readonly Batch[], lr: number, stepIndex?: number): {
    readonly loss: tf.Scalar;
    readonly mlmLoss: tf.Scalar;
    readonly orderLoss: tf.Scalar;
    readonly dispose: () => void;
  };
  /** The engine the next step runs on (absent in older trainers: eager). */
  engine?(): 'graph' | 'eager';
  dispose(): void;
}

/** `createPretrainer` as the bench sees it. */
export type CreatePretrainer = (o: PretrainerOpts) => E.Either<{ readonly message: string }, PretrainerLike>;

/** What {@link loadPretrainer} gives: lamina's `createPretrainer`. */
export interface LoadedPretrainer {
  readonly create: CreatePretrainer;
}

/**
 * `createPretrainer` from `@lamina/train`'s public exports, or why it is unavailable (reported as
 * a value, so a bench on a broken tree still runs its other measurements).
 * @example const c = await loadPretrainer(); if (E.isRight(c)) c.right.create(opts)
 */
export const loadPretrainer = async (): Promise<E.Either<string, LoadedPretrainer>> => {
  const mod = (await import('@lamina/train')) as Record<string, unknown>;
  return typeof mod.createPretrainer === 'function'
    ? E.right({ create: mod.createPretrainer as CreatePretrainer })
    : E.left('@lamina/train does not export createPretrainer');
};

/** An eval-mode forward of the pretraining model (MLM logits at every position + order logits). */
export interface LaminaInference {
  readonly params: ParamStore;
  /** Runs the forward pass; the outputs are disposed before it returns. Resolves once computed. */
  run(b: Batch): Promise<void>;
  /** `graph` while the forward runs as one TensorFlow function, `eager` (asked for, or after a fallback). */
  engine(): 'graph' | 'eager';
  dispose(): void;
}

/**
 * lamina's inference path: `albertForPretraining(c, { mlmPositions: 'all' })` with the prediction
 * and order outputs, eval mode, fresh parameters for `seed`; on the graph engine (the default, what
 * `lamina forward` runs) through `compileToGraph` (one TensorFlow function per input signature,
 * traced at the first call), on the eager engine through `compile`.
 * @example const inf = laminaInference(PRESETS['albert-base'], 'sop', 1, { engine: 'graph' });
 */
export const laminaInference = (
  c: AlbertConfig,
  objective: 'sop' | 'nsp',
  seed: number,
  o: { readonly engine?: 'graph' | 'eager'; readonly onNotice?: (line: string) => void } = {},
): E.Either<string, LaminaInference> => {
  const model = albertForPretraining(c, { objective, mlmPositions: 'all' });
  const outputs = { input: 'input_ids', outputs: ['prediction_logits', `${objective}_logits`] };
  const graph = o.engine === 'eager' ? undefined : compileToGraph(model, { ...outputs, ...(o.onNotice ? { onNotice: o.onNotice } : {}) });
  const f = graph ?? compile(model, outputs);
  if (E.isLeft(f)) return E.left(`${f.left.path}: ${f.left.message}`);
  const p = init(model, seed);
  if (E.isLeft(p)) return E.left(p.left.message);
  const params = p.right;
  return E.right({
    params,
    run: async (b) => {
      const [B, S] = b.shapes.inputIds;
      const probe = tf.tidy(() => {
        const out = f.right(params, {
          input_ids: tf.tensor2d(b.inputIds, [B, S], 'int32'),
          token_type_ids: tf.tensor2d(b.tokenTypeIds, [B, S], 'int32'),
          attention_mask: tf.tensor2d(b.attentionMask, [B, S], 'int32'),
        }) as Record<string, tf.Tensor>;
        return tf.add(tf.sum(out[`${objective}_logits`] as tf.Tensor), tf.slice(tf.reshape(out.prediction_logits as tf.Tensor, [-1]), [0], [1]).sum());
      });
      await probe.data();
      probe.dispose();
    },
    engine: () => (graph && E.isRight(graph) ? graph.right.engine() : 'eager'),
    dispose: () => Object.values(params).forEach((v) => v.dispose()),
  });
};
