// The hand-written tfjs baseline is the same model and the same step as lamina's: identical
// parameters (paths and shapes), identical logits for the same values, identical loss, and the
// identical optimizer update. Tiny configs, no timing.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { albertForPretraining, PRESET_NAMES, PRESETS, SHARING, tinyConfig, validateConfig, type AlbertConfig } from '@lamina/albert';
import { compile, init, paramSpecs, unwrap } from '@lamina/dsl';
import { createHandwritten, handwrittenParams } from '../src/handwritten.js';
import { loadPretrainer } from '../src/lamina.js';
import { syntheticBatch } from '../src/synthetic.js';

const CONFIGS: Record<string, AlbertConfig> = {
  'albert (sharing all)': tinyConfig(),
  'albert (groups 2 × inner 2)': tinyConfig({ numHiddenLayers: 4, numHiddenGroups: 2, innerGroupNum: 2 }),
  'albert (sharing attention)': tinyConfig({ sharing: 'attention' }),
  'albert (sharing ffn)': tinyConfig({ sharing: 'ffn' }),
  'albert (not shared)': tinyConfig({ sharing: 'none' }),
  'bert (gelu, no factorisation)': tinyConfig({ factorized: false, sharing: 'none', embeddingSize: 32, hiddenAct: 'gelu' }),
};
const objectiveOf = (c: AlbertConfig) => (c.factorized ? 'sop' : 'nsp') as 'sop' | 'nsp';
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);

describe('hand-written parameters', () => {
  it('are exactly the DSL model’s parameters (paths and shapes) for every preset × sharing strategy', () => {
    for (const p of PRESET_NAMES)
      for (const sharing of SHARING) {
        const c = { ...PRESETS[p], sharing };
        if (E.isLeft(validateConfig(c))) continue;
        const objective = objectiveOf(c);
        const want = unwrap(paramSpecs(albertForPretraining(c, { objective }))).map((s) => `${s.path}:${s.shape.join('x')}`);
        const got = handwrittenParams(c, objective).map((s) => `${s.path}:${s.shape.join('x')}`);
        expect([...got].sort(), `${p} ${sharing}`).toEqual([...want].sort());
      }
  });
});

describe('hand-written forward', () => {
  for (const [name, c] of Object.entries(CONFIGS))
    it(`gives the compiled model's logits for the same parameters: ${name}`, () => {
      const objective = objectiveOf(c);
      const model = albertForPretraining(c, { objective, mlmPositions: 'all' });
      const params = unwrap(init(model, 5));
      const f = unwrap(compile(model, { input: 'input_ids', outputs: ['prediction_logits', `${objective}_logits`] }));
      const b = syntheticBatch(c, { batch: 3, seq: 16, predictions: 3, seed: 2 });
      const inputs = {
        input_ids: tf.tensor2d(b.inputIds, [3, 16], 'int32'),
        token_type_ids: tf.tensor2d(b.tokenTypeIds, [3, 16], 'int32'),
        attention_mask: tf.tensor2d(b.attentionMask, [3, 16], 'int32'),
      };
      const out = f(params, inputs) as Record<string, tf.Tensor>;
      const hw = unwrap(createHandwritten({ config: c, objective, mlmPositions: 'all', optimizer: 'lamb', seed: 1, initialParams: params }));
      const r = hw.infer(b);
      expect(maxAbsDiff(tf.reshape(out.prediction_logits as tf.Tensor, [-1, c.vocabSize]), r.predictionLogits)).toBeLessThan(1e-5);
      expect(maxAbsDiff(out[`${objective}_logits`] as tf.Tensor, r.orderLogits as tf.Tensor)).toBeLessThan(1e-5);
      tf.dispose([out.prediction_logits as tf.Tensor, out[`${objective}_logits`] as tf.Tensor, r.predictionLogits, r.orderLogits as tf.Tensor, ...Object.values(inputs)]);
      hw.dispose();
      Object.values(params).forEach((v) => v.dispose());
    });

  it('refuses initial parameters that do not fit, as a value', () => {
    const r = createHandwritten({ config: tinyConfig(), objective: 'sop', mlmPositions: 'all', optimizer: 'lamb', seed: 1, initialParams: { 'pooler.kernel': tf.zeros([2, 2]) } });
    expect(E.isLeft(r) && r.left.message).toMatch(/missing embeddings\.word\.embeddings/);
  });
});

describe("hand-written step = lamina's pretraining step", async () => {
  const loaded = await loadPretrainer();
  it('loads lamina’s createPretrainer', () => {
    expect(E.isRight(loaded) || loaded.left).toBe(true);
  });
  if (E.isLeft(loaded)) return;
  const create = loaded.right.create;
  for (const [name, c] of Object.entries({ 'albert (sharing all)': CONFIGS['albert (sharing all)'], 'bert (gelu, no factorisation)': CONFIGS['bert (gelu, no factorisation)'] }) as [string, AlbertConfig][])
    for (const mlmPositions of ['all', 'masked'] as const)
      for (const optimizer of ['lamb', 'adamw'] as const)
        it(`same loss, and the same parameters after one update: ${name}, logits at ${mlmPositions} positions, ${optimizer}`, async () => {
          const objective = objectiveOf(c);
          const lam = unwrap(create({ config: c, objective, mlmPositions, optimizer, seed: 4, clipNorm: 1 }) as E.Either<{ message: string }, never>) as ReturnType<typeof create> extends E.Either<unknown, infer P> ? P : never;
          const hw = unwrap(createHandwritten({ config: c, objective, mlmPositions, optimizer, seed: 9, clipNorm: 1, initialParams: lam.params }));
          const b = syntheticBatch(c, { batch: 4, seq: 16, predictions: 3, seed: 7 });
          const mine = hw.losses(b, false);
          const theirs = lam.trainStep([b], 0.05);
          const [l1, m1, o1] = [mine.loss, mine.mlmLoss, mine.orderLoss].map((t) => t.dataSync()[0] as number);
          const [l2, m2, o2] = [theirs.loss, theirs.mlmLoss, theirs.orderLoss].map((t) => t.dataSync()[0] as number);
          expect(Math.abs((l1 as number) - (l2 as number))).toBeLessThan(1e-5);
          expect(Math.abs((m1 as number) - (m2 as number))).toBeLessThan(1e-5);
          expect(Math.abs((o1 as number) - (o2 as number))).toBeLessThan(1e-5);
          theirs.dispose();
          tf.dispose([mine.loss, mine.mlmLoss, mine.orderLoss]);
          hw.trainStep(b, 0.05).dispose();
          let worst = 0;
          for (const [k, v] of Object.entries(lam.params)) worst = Math.max(worst, maxAbsDiff(v, hw.params[k] as tf.Tensor));
          // lamina's GELU/LayerNorm gradients are hand-written, the baseline's are autodiff of the
          // formulas: equal up to float rounding, which Adam's m/√v can lift to ~1e-5 per element
          expect(worst).toBeLessThan(1e-4);
          lam.dispose();
          hw.dispose();
        });
});
