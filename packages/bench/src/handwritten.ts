/**
 * ALBERT/BERT pretraining written by hand in plain tfjs ops: the same model, loss, gradient clip
 * and optimizer update as lamina's `createPretrainer` (which compiles the DSL value), with no DSL
 * in between. It is the bench's DSL-overhead baseline: if lamina's step is slower than this, the
 * cost is in the compiler, not in TensorFlow. The parameters use lamina's paths, so the two can be
 * run on the same values and compared (`test/handwritten.test.ts` proves they compute the same loss).
 *
 * What a careful engineer writes by hand: activations kept as `[B·S, H]` matrices through the
 * encoder (one reshape to heads and back per attention), `tf.fused.matMul` with bias for every
 * dense layer, the additive attention mask built once per forward, the tied decoder as a
 * `transposeB` product with the word-embedding table.
 *
 * @example
 * ```ts
 * const hw = unwrap(createHandwritten({ config: tinyConfig(), objective: 'sop', mlmPositions: 'all', optimizer: 'adamw', seed: 1 }));
 * const r = hw.trainStep(batch, 1e-3);
 * console.log(r.loss.dataSync()[0]);
 * r.dispose();
 * hw.dispose();
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { AlbertConfig, Batch } from '@lamina/albert';
import { isDecayExcluded } from '@lamina/train';

/** Options of {@link createHandwritten}; the same fields as lamina's `PretrainerOptions`. */
export interface HandwrittenOptions {
  readonly config: AlbertConfig;
  readonly objective: 'sop' | 'nsp' | 'none';
  readonly mlmPositions: 'masked' | 'all';
  readonly optimizer: 'lamb' | 'adamw';
  readonly seed: number;
  /** Global-norm clip (default 1.0; 0 disables). */
  readonly clipNorm?: number;
  /** Start from these values (by lamina path; copied) instead of a fresh init. */
  readonly initialParams?: Readonly<Record<string, tf.Tensor>>;
}

/** One parameter of the hand-written model: lamina path, shape and initialiser. */
export interface HandwrittenParam {
  readonly path: string;
  readonly shape: readonly number[];
  readonly init: 'normal' | 'ones' | 'zeros';
}

/** The scalar results of one step (caller disposes). */
export interface HandwrittenStep {
  readonly loss: tf.Scalar;
  readonly mlmLoss: tf.Scalar;
  readonly orderLoss: tf.Scalar;
  readonly dispose: () => void;
}

/** A hand-written pretraining session. */
export interface Handwritten {
  readonly params: Record<string, tf.Variable>;
  /** The loss on a batch without updating (tensors owned by the caller). */
  losses(batch: Batch, training: boolean, seed?: number): { loss: tf.Scalar; mlmLoss: tf.Scalar; orderLoss: tf.Scalar };
  /** Forward + backward + clip + optimizer update. */
  trainStep(batch: Batch, lr: number): HandwrittenStep;
  /** Eval-mode forward: MLM logits at every position `[B·S, V]` and the order logits `[B, 2]` (caller disposes). */
  infer(batch: Batch): { predictionLogits: tf.Tensor2D; orderLogits: tf.Tensor2D | undefined };
  dispose(): void;
}

/** Why the hand-written model cannot be built. */
export interface HandwrittenError {
  readonly _tag: 'HandwrittenError';
  readonly message: string;
}

/** Parameter prefixes of the two sublayers of each layer application, per sharing strategy. */
const layerPrefixes = (c: AlbertConfig): { attn: string; ffn: string }[] => {
  const N = c.numHiddenLayers;
  const out: { attn: string; ffn: string }[] = [];
  for (let i = 0; i < N; i++) {
    switch (c.sharing) {
      case 'all': {
        const g = Math.floor(i / (N / c.numHiddenGroups));
        for (let k = 0; k < c.innerGroupNum; k++) out.push({ attn: `encoder.group${g}.layer${k}`, ffn: `encoder.group${g}.layer${k}` });
        break;
      }
      case 'attention':
        out.push({ attn: 'encoder.shared', ffn: `encoder.${i}` });
        break;
      case 'ffn':
        out.push({ attn: `encoder.${i}`, ffn: 'encoder.shared' });
        break;
      case 'none':
        out.push({ attn: `encoder.${i}`, ffn: `encoder.${i}` });
        break;
    }
  }
  return out;
};

/**
 * The parameters of the pretraining model (lamina's paths and shapes), each listed once.
 * @example handwrittenParams(tinyConfig(), 'sop').length // 32
 */
export const handwrittenParams = (c: AlbertConfig, objective: 'sop' | 'nsp' | 'none'): HandwrittenParam[] => {
  const { vocabSize: V, embeddingSize: Em, hiddenSize: H, intermediateSize: I } = c;
  const ps: HandwrittenParam[] = [];
  const seen = new Set<string>();
  const add = (path: string, shape: number[], init: HandwrittenParam['init'] = 'normal') => {
    if (!seen.has(path)) ps.push({ path, shape, init });
    seen.add(path);
  };
  const dense = (p: string, i: number, o: number) => {
    add(`${p}.kernel`, [i, o]);
    add(`${p}.bias`, [o], 'zeros');
  };
  const ln = (p: string, d: number) => {
    add(`${p}.gamma`, [d], 'ones');
    add(`${p}.beta`, [d], 'zeros');
  };
  add('embeddings.word.embeddings', [V, Em]);
  add('embeddings.position.embeddings', [c.maxPositionEmbeddings, Em]);
  add('embeddings.token_type.embeddings', [c.typeVocabSize, Em]);
  ln('embeddings.layer_norm', Em);
  if (c.factorized) dense('embeddings.projection', Em, H);
  for (const { attn, ffn } of layerPrefixes(c)) {
    for (const s of ['query', 'key', 'value', 'output']) dense(`${attn}.attention.${s}`, H, H);
    ln(`${attn}.attention_norm`, H);
    dense(`${ffn}.ffn`, H, I);
    dense(`${ffn}.ffn_output`, I, H);
    ln(`${ffn}.ffn_norm`, H);
  }
  dense('pooler', H, H);
  dense('mlm.dense', H, Em);
  ln('mlm.layer_norm', Em);
  add('mlm.decoder.bias', [V], 'zeros');
  if (objective !== 'none') dense(objective, H, 2);
  return ps;
};

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const act = (fn: AlbertConfig['hiddenAct'], x: tf.Tensor): tf.Tensor => {
  switch (fn) {
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'gelu_new':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI))));
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
  }
};

/**
 * `Σ w·(−log softmax(logits)[label]) / (Σ w + 1e-5)`, the gradient written by hand
 * (`softmax − one-hot`) so no `[N, V]` one-hot exists in the forward pass.
 */
const weightedCrossEntropy = (logits: tf.Tensor2D, labels: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar => {
  const [n, V] = logits.shape;
  const nll = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const lsm = tf.logSoftmax(x as tf.Tensor2D);
    save([lsm, labels]);
    const flat = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(V, 'int32')), labels);
    return {
      value: tf.neg(tf.gather(tf.reshape(lsm, [-1]), flat)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [l, y] = saved as [tf.Tensor2D, tf.Tensor1D];
        return tf.mul(tf.sub(tf.exp(l), tf.oneHot(y, V, 1, 0, 'float32')), tf.expandDims(dy, 1));
      },
    };
  }) as never) as unknown as (x: tf.Tensor) => tf.Tensor1D;
  return tf.div(tf.sum(tf.mul(nll(logits), weights)), tf.add(tf.sum(weights), 1e-5)) as tf.Scalar;
};

/**
 * Builds the hand-written pretraining model and step. Parameters are fresh (normal(0, σ), ones,
 * zeros as in the config) or copied from `initialParams`.
 */
export const createHandwritten = (o: HandwrittenOptions): E.Either<HandwrittenError, Handwritten> => {
  const c = o.config;
  const specs = handwrittenParams(c, o.objective);
  const params: Record<string, tf.Variable> = {};
  const problems: string[] = [];
  specs.forEach((s, i) => {
    const given = o.initialParams?.[s.path];
    if (o.initialParams && !given) problems.push(`missing ${s.path}`);
    else if (given && given.shape.join(',') !== s.shape.join(',')) problems.push(`${s.path}: shape [${given.shape}] ≠ [${s.shape}]`);
    const t = given
      ? tf.clone(given)
      : s.init === 'normal'
        ? tf.randomNormal(s.shape as number[], 0, c.initializerRange, 'float32', o.seed * 7919 + i)
        : s.init === 'ones'
          ? tf.ones(s.shape as number[])
          : tf.zeros(s.shape as number[]);
    params[s.path] = tf.variable(t, true);
    t.dispose();
  });
  if (problems.length) {
    Object.values(params).forEach((v) => v.dispose());
    return E.left({ _tag: 'HandwrittenError', message: `initial parameters do not fit: ${problems.slice(0, 5).join('; ')}` });
  }
  const P = (k: string): tf.Tensor => params[k] as tf.Tensor;
  const H = c.hiddenSize;
  const Em = c.embeddingSize;
  const heads = c.numAttentionHeads;
  const d = H / heads;
  const scale = 1 / Math.sqrt(d);
  const eps = c.layerNormEps;
  const layers = layerPrefixes(c);

  const ln = (x: tf.Tensor, p: string): tf.Tensor => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), P(`${p}.gamma`)), P(`${p}.beta`));
  };
  const dense = (x: tf.Tensor, p: string, activation?: AlbertConfig['hiddenAct']): tf.Tensor => {
    const y = tf.fused.matMul({ a: x as tf.Tensor2D, b: P(`${p}.kernel`) as tf.Tensor2D, bias: P(`${p}.bias`), activation: activation === 'relu' ? 'relu' : 'linear' });
    return activation && activation !== 'relu' ? act(activation, y) : y;
  };

  /** Forward to the MLM logits and order logits. */
  const forward = (b: Batch, training: boolean, seed: number, positions: 'masked' | 'all') => {
    const [B, S] = b.shapes.inputIds;
    let drops = 0;
    const drop = (x: tf.Tensor, rate: number): tf.Tensor => (training && rate > 0 ? tf.dropout(x, rate, undefined, (seed * 1000003 + ++drops * 7919) >>> 0) : x);
    const ids = tf.tensor2d(b.inputIds, [B, S], 'int32');
    const types = tf.tensor2d(b.tokenTypeIds, [B, S], 'int32');
    const mask = tf.tensor2d(b.attentionMask, [B, S], 'int32');
    let e = tf.gather(P('embeddings.word.embeddings'), ids);
    e = tf.add(e, tf.slice(P('embeddings.position.embeddings'), [0, 0], [S, Em]));
    e = tf.add(e, tf.gather(P('embeddings.token_type.embeddings'), types));
    e = drop(ln(e, 'embeddings.layer_norm'), c.hiddenDropoutProb);
    let x = tf.reshape(e, [B * S, Em]);
    if (c.factorized) x = dense(x, 'embeddings.projection');
    const maskAdd = tf.reshape(tf.mul(tf.sub(1, tf.cast(mask, 'float32')), -1e9), [B, 1, 1, S]);
    const toHeads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, S, heads, d]), [0, 2, 1, 3]);
    for (const { attn, ffn } of layers) {
      const q = toHeads(dense(x, `${attn}.attention.query`));
      const k = toHeads(dense(x, `${attn}.attention.key`));
      const v = toHeads(dense(x, `${attn}.attention.value`));
      const probs = drop(tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), maskAdd)), c.attentionProbsDropoutProb);
      const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B * S, H]);
      x = ln(tf.add(x, drop(dense(ctx, `${attn}.attention.output`), c.hiddenDropoutProb)), `${attn}.attention_norm`);
      const h = dense(dense(x, `${ffn}.ffn`, c.hiddenAct), `${ffn}.ffn_output`);
      x = ln(tf.add(x, drop(h, c.hiddenDropoutProb)), `${ffn}.ffn_norm`);
    }
    let m = x;
    if (positions === 'masked') {
      const Pn = b.shapes.maskedLm[1];
      const pos = tf.tensor2d(b.maskedLmPositions, [B, Pn], 'int32');
      const rows = tf.reshape(tf.add(pos, tf.reshape(tf.mul(tf.range(0, B, 1, 'int32'), tf.scalar(S, 'int32')), [B, 1])), [B * Pn]);
      m = tf.gather(x, rows);
    }
    m = ln(dense(m, 'mlm.dense', c.hiddenAct), 'mlm.layer_norm');
    const predictionLogits: tf.Tensor2D = tf.fused.matMul({ a: m as tf.Tensor2D, b: P('embeddings.word.embeddings') as tf.Tensor2D, transposeB: true, bias: P('mlm.decoder.bias') }) as tf.Tensor2D;
    let orderLogits: tf.Tensor2D | undefined;
    if (o.objective !== 'none') {
      const first = tf.reshape(tf.slice(tf.reshape(x, [B, S, H]), [0, 0, 0], [B, 1, H]), [B, H]);
      orderLogits = dense(drop(dense(first, 'pooler', 'tanh'), c.hiddenDropoutProb), o.objective) as tf.Tensor2D;
    }
    return { predictionLogits, orderLogits };
  };

  const losses = (b: Batch, training: boolean, seed = 0) =>
    tf.tidy(() => {
      const [B, S] = b.shapes.inputIds;
      const Pn = b.shapes.maskedLm[1];
      const { predictionLogits, orderLogits } = forward(b, training, seed, o.mlmPositions);
      let labels: tf.Tensor1D;
      let weights: tf.Tensor1D;
      if (o.mlmPositions === 'all') {
        const ids = new Int32Array(B * S);
        const w = new Float32Array(B * S);
        for (let i = 0; i < B; i++)
          for (let j = 0; j < Pn; j++)
            if (b.maskedLmWeights[i * Pn + j]) {
              const at = i * S + (b.maskedLmPositions[i * Pn + j] as number);
              ids[at] = b.maskedLmIds[i * Pn + j] as number;
              w[at] = 1;
            }
        labels = tf.tensor1d(ids, 'int32');
        weights = tf.tensor1d(w, 'float32');
      } else {
        labels = tf.tensor1d(b.maskedLmIds, 'int32');
        weights = tf.tensor1d(Float32Array.from(b.maskedLmWeights), 'float32');
      }
      const mlmLoss = weightedCrossEntropy(predictionLogits as tf.Tensor2D, labels, weights);
      const orderLoss = orderLogits
        ? weightedCrossEntropy(orderLogits, tf.tensor1d(b.sentenceOrderLabel, 'int32'), tf.ones([B]) as tf.Tensor1D)
        : (tf.scalar(0) as tf.Scalar);
      return { loss: tf.add(mlmLoss, orderLoss) as tf.Scalar, mlmLoss, orderLoss };
    });

  const names = Object.keys(params);
  const vars = names.map((n) => params[n] as tf.Variable);
  const slots = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  const clip = o.clipNorm ?? 1.0;
  const [beta1, beta2, epsilon, weightDecay] = [0.9, 0.999, 1e-6, 0.01];
  let steps = 0;

  const trainStep = (b: Batch, lr: number): HandwrittenStep => {
    const seed = o.seed * 65537 + steps++;
    const out = tf.tidy(() => {
      let parts: tf.Scalar[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const l = losses(b, true, seed);
        parts = [tf.keep(l.mlmLoss), tf.keep(l.orderLoss)];
        return l.loss;
      }, vars);
      const have = names.filter((n) => grads[(params[n] as tf.Variable).name] !== undefined);
      const g = (n: string) => grads[(params[n] as tf.Variable).name] as tf.Tensor;
      const norm = tf.sqrt(have.reduce<tf.Tensor>((a, n) => tf.add(a, tf.sum(tf.square(g(n)))), tf.scalar(0)));
      const clipScale = clip > 0 ? tf.div(clip, tf.maximum(norm, clip)) : tf.scalar(1);
      const lrT = tf.scalar(lr);
      for (const n of have) {
        const w = params[n] as tf.Variable;
        let s = slots.get(n);
        if (!s) {
          s = { m: tf.variable(tf.zerosLike(w), false), v: tf.variable(tf.zerosLike(w), false) };
          slots.set(n, s);
        }
        const gi = tf.mul(g(n), clipScale);
        const m = tf.add(tf.mul(s.m, beta1), tf.mul(gi, 1 - beta1));
        const v = tf.add(tf.mul(s.v, beta2), tf.mul(tf.square(gi), 1 - beta2));
        let u: tf.Tensor = tf.div(m, tf.add(tf.sqrt(v), epsilon));
        const excluded = isDecayExcluded(n);
        if (!excluded) u = tf.add(u, tf.mul(w, weightDecay));
        let step: tf.Tensor = tf.mul(u, lrT);
        if (o.optimizer === 'lamb' && !excluded) {
          const wn = tf.norm(w);
          const un = tf.norm(u);
          const one = tf.onesLike(wn);
          step = tf.mul(step, tf.where(tf.greater(wn, 0), tf.where(tf.greater(un, 0), tf.div(wn, un), one), one));
        }
        w.assign(tf.sub(w, step));
        s.m.assign(m);
        s.v.assign(v);
      }
      return { loss: value, mlmLoss: parts[0] as tf.Scalar, orderLoss: parts[1] as tf.Scalar };
    });
    return { ...out, dispose: () => tf.dispose([out.loss, out.mlmLoss, out.orderLoss]) };
  };

  const hw: Handwritten = {
    params,
    losses,
    trainStep,
    infer: (b) => tf.tidy(() => forward(b, false, 0, 'all')),
    dispose: () => {
      Object.values(params).forEach((v) => v.dispose());
      for (const s of slots.values()) tf.dispose([s.m, s.v]);
      slots.clear();
    },
  };
  return E.right(hw);
};
