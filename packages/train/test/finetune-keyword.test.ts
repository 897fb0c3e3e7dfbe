// The fine-tuning recipe learns a trivial task on every seed (issue 14): one keyword, `wonderful`
// or `terrible`, among 6 filler words. The demo-sized model (E=64, H=128, 4 shared layers, 4
// heads) from a fresh initialisation, the default optimizer (AdamW, bias-corrected), lr 1e-3,
// 3 epochs of batch 32, 10% warm-up then linear decay, dropout 0. Shrunk from the 1,024
// training examples to 512 to keep the test short; with ALBERT's reference AdamW (no bias
// correction) this same set-up ended below 0.9 on all 3 seeds (0.43, 0.85, 0.77) when it was written.
// Slower than most (about 50 steps per seed, on the real tokenizer and model).
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import { defaultTokenizer } from '@lamina/albert';
import { DEMO_MODEL } from '../src/cli/demo.js';
import { encodeExamples, orderedBatches, sliceBatch } from '../src/finetune/encode.js';
import { FINETUNE_DEFAULTS } from '../src/finetune/run.js';
import type { TaskExamples } from '../src/finetune/data.js';
import { createTaskTrainer } from '../src/finetune/model.js';
import { createRng, deriveSeed } from '../src/rng.js';
import { lrAt } from '../src/schedule.js';

const FILLER = 'the a film movie story plot actor scene music time people world way day night house city water light hand'.split(' ');

/** `n` examples: 6 filler words with `wonderful` (label 1) or `terrible` (label 0) inserted at a random place. */
const keywordTask = (n: number, seed: number): TaskExamples => {
  const rng = createRng(seed);
  const texts: string[] = [];
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: 6 }, () => FILLER[rng.nextInt(FILLER.length)] as string);
    const y = rng.nextInt(2);
    words.splice(rng.nextInt(7), 0, y === 1 ? 'wonderful' : 'terrible');
    texts.push(words.join(' '));
    targets[i] = y;
  }
  return { kind: 'classify', labels: ['terrible', 'wonderful'], texts, pairs: undefined, targets, name: 'keyword' };
};

describe('fine-tuning recipe on a one-keyword task', () => {
  it('reaches ≥ 0.9 held-out accuracy from a fresh initialisation on every one of 3 seeds', async () => {
    const tok = defaultTokenizer();
    if (E.isLeft(tok)) throw new Error(tok.left.message);
    const config = { ...DEMO_MODEL, vocabSize: tok.right.vocabSize, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 };
    const [B, epochs, lr] = [32, 3, 1e-3];
    const accuracies: number[] = [];
    for (const seed of [1, 2, 3]) {
      const train = encodeExamples(tok.right, keywordTask(512, deriveSeed(seed, 'train')), 16);
      const held = encodeExamples(tok.right, keywordTask(256, deriveSeed(seed, 'held-out')), 16);
      const t = createTaskTrainer({
        config,
        kind: 'classify',
        numLabels: 2,
        optimizer: FINETUNE_DEFAULTS.optimizer,
        hyper: { weightDecay: FINETUNE_DEFAULTS.weightDecay, biasCorrection: FINETUNE_DEFAULTS.biasCorrection },
        clipNorm: FINETUNE_DEFAULTS.clipNorm,
        seed,
      });
      if (E.isLeft(t)) throw new Error(t.left);
      const trainer = t.right;
      try {
        const perEpoch = Math.ceil(train.size / B);
        const schedule = { peak: lr, warmup: Math.round((perEpoch * epochs) / 10), total: perEpoch * epochs };
        let step = 0;
        for (let e = 0; e < epochs; e++) {
          const order = createRng(deriveSeed(seed, 'order', e)).shuffle(Array.from({ length: train.size }, (_, i) => i));
          for (let s = 0; s < perEpoch; s++) {
            const r = trainer.trainStep(sliceBatch(train, order.slice(s * B, (s + 1) * B)), lrAt(step, schedule), step);
            r.dispose();
            step++;
          }
        }
        let correct = 0;
        for (const b of orderedBatches(held, 64)) {
          const logits = await trainer.predict(b);
          for (let j = 0; j < b.size; j++) if (Number((logits[2 * j + 1] as number) > (logits[2 * j] as number)) === b.targets[j]) correct++;
        }
        accuracies.push(correct / held.size);
      } finally {
        trainer.dispose();
      }
    }
    expect(accuracies.every((a) => a >= 0.9), `held-out accuracy per seed: ${accuracies.join(', ')}`).toBe(true);
  }, 300_000);
});
