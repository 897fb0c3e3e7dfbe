// Adam with bias correction (torch.optim.AdamW, Hugging Face): the update equals the textbook
// formula step after step, the state resumes it exactly (the step count drives the correction),
// and the defaults are what the issue asks: on for fine-tuning and `train`, off for pretraining.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { BIAS_CORRECTION_DEFAULTS, createOptimizer, type Optimizer, type OptimizerHyper, type OptimizerKind } from '../src/optim/index.js';
import { FINETUNE_DEFAULTS } from '../src/finetune/run.js';
import { FINETUNE_OPTIONS, finetuneConfigFromFlags } from '../src/cli/finetune.js';
import { PRETRAIN_OPTIONS, runConfigFromFlags } from '../src/cli/pretrain.js';
import { CliError } from '../src/cli/command.js';

const make = (kind: OptimizerKind, hyper: OptimizerHyper = {}): Optimizer => {
  const r = createOptimizer(kind, hyper);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

/**
 * `torch.optim.AdamW` as its documentation writes it, in float64, for one parameter vector:
 * θ ← θ − γλθ; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; m̂ = m/(1−β1ᵗ); v̂ = v/(1−β2ᵗ);
 * θ ← θ − γ·m̂/(√v̂ + ε). Decay is skipped for `decay: false` (lamina's bias/LayerNorm exclusion).
 */
const textbookAdamW = (w0: number[], grads: number[][], lrs: number[], wd: number, decay: boolean): number[] => {
  const [b1, b2, eps] = [0.9, 0.999, 1e-6];
  let w = [...w0];
  let m = w0.map(() => 0);
  let v = w0.map(() => 0);
  grads.forEach((g, i) => {
    const t = i + 1;
    const lr = lrs[i] as number;
    if (decay) w = w.map((x) => x - lr * wd * x);
    m = m.map((x, j) => b1 * x + (1 - b1) * (g[j] as number));
    v = v.map((x, j) => b2 * x + (1 - b2) * (g[j] as number) ** 2);
    const mHat = m.map((x) => x / (1 - b1 ** t));
    const vHat = v.map((x) => x / (1 - b2 ** t));
    w = w.map((x, j) => x - (lr * (mHat[j] as number)) / (Math.sqrt(vHat[j] as number) + eps));
  });
  return w;
};

const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

describe('AdamW with bias correction', () => {
  it('equals the textbook (torch.optim.AdamW) update over many steps, with and without decay', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((n) =>
          fc.record({
            w0: fc.array(finite(-2, 2), { minLength: n, maxLength: n }),
            grads: fc.array(fc.array(finite(-3, 3), { minLength: n, maxLength: n }), { minLength: 1, maxLength: 12 }),
            lr: finite(1e-4, 1e-2),
            wd: finite(0, 0.1),
          }),
        ),
        ({ w0, grads, lr, wd }) => {
          const lrs = grads.map((_, i) => lr * (1 - i / (2 * grads.length))); // a decaying schedule
          const params = { 'd.kernel': tf.variable(tf.tensor1d(w0)), 'd.bias': tf.variable(tf.tensor1d(w0)) };
          const opt = make('adamw', { biasCorrection: true, weightDecay: wd });
          for (const [i, g] of grads.entries()) {
            const gs = { 'd.kernel': tf.tensor1d(g), 'd.bias': tf.tensor1d(g) };
            opt.step(params, gs, lrs[i] as number);
            tf.dispose(Object.values(gs));
          }
          const check = (got: Float32Array | Int32Array | Uint8Array, want: number[]) =>
            want.forEach((x, j) => expect(Math.abs((got[j] as number) - x)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(x))));
          check(params['d.kernel'].dataSync(), textbookAdamW(w0, grads, lrs, wd, true));
          check(params['d.bias'].dataSync(), textbookAdamW(w0, grads, lrs, wd, false)); // biases are not decayed
          expect(opt.stepCount()).toBe(grads.length);
          tf.dispose(Object.values(params));
          opt.dispose();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('its early updates are the size the learning rate says; the reference variant is (1−β1ᵗ)/√(1−β2ᵗ) times larger', () => {
    // a steady gradient: corrected |Δw| = lr every step; uncorrected 3.16·lr at step 1, 6.5·lr at step 10
    const run = (biasCorrection: boolean): number[] => {
      const params = { 'x.kernel': tf.variable(tf.zeros([1])) };
      const opt = make('adamw', { biasCorrection, weightDecay: 0 });
      const g = tf.tensor1d([0.5]);
      const steps: number[] = [];
      let prev = 0;
      for (let t = 1; t <= 10; t++) {
        opt.step(params, { 'x.kernel': g }, 1e-3);
        const now = params['x.kernel'].dataSync()[0] as number;
        steps.push(prev - now);
        prev = now;
      }
      tf.dispose([g, params['x.kernel']]);
      opt.dispose();
      return steps;
    };
    const corrected = run(true);
    const reference = run(false);
    for (const d of corrected) expect(d).toBeCloseTo(1e-3, 6);
    for (const [i, d] of reference.entries()) {
      const t = i + 1;
      expect(d / 1e-3).toBeCloseTo((1 - 0.9 ** t) / Math.sqrt(1 - 0.999 ** t), 3);
    }
    expect(reference[9]! / corrected[9]!).toBeGreaterThan(6.4);
  });

  it('state → loadState resumes bit-exactly: the restored step count continues the correction', () => {
    for (const kind of ['adamw', 'lamb'] as const) {
      const mk = () => ({ 'l.kernel': tf.variable(tf.tensor1d([1, 2, 3])), 'l.bias': tf.variable(tf.tensor1d([0.1])) });
      const gs = [0, 1, 2, 3, 4, 5].map((i) => ({ 'l.kernel': tf.tensor1d([i - 1, 0.5, -i]), 'l.bias': tf.tensor1d([i / 3]) }));
      // uninterrupted
      const pa = mk();
      const a = make(kind, { biasCorrection: true });
      for (const g of gs) a.step(pa, g, 0.01);
      // interrupted after 3 steps: weights and state copied into a fresh optimizer
      const pb = mk();
      const b1 = make(kind, { biasCorrection: true });
      for (const g of gs.slice(0, 3)) b1.step(pb, g, 0.01);
      const saved = b1.state();
      b1.dispose();
      const b2 = make(kind, { biasCorrection: true });
      expect(b2.loadState(saved, pb)).toEqual(E.right(undefined));
      tf.dispose(Object.values(saved));
      expect(b2.stepCount()).toBe(3);
      for (const g of gs.slice(3)) b2.step(pb, g, 0.01);
      expect(Array.from(pb['l.kernel'].dataSync())).toEqual(Array.from(pa['l.kernel'].dataSync()));
      expect(Array.from(pb['l.bias'].dataSync())).toEqual(Array.from(pa['l.bias'].dataSync()));
      // and the step count matters: a state restored at step 0 does not give the same weights
      const pc = mk();
      const c1 = make(kind, { biasCorrection: true });
      for (const g of gs.slice(0, 3)) c1.step(pc, g, 0.01);
      const st = c1.state();
      const reset = { ...st, global_step: tf.scalar(0, 'int32') };
      const c2 = make(kind, { biasCorrection: true });
      expect(c2.loadState(reset, pc)).toEqual(E.right(undefined));
      for (const g of gs.slice(3)) c2.step(pc, g, 0.01);
      expect(Array.from(pc['l.kernel'].dataSync())).not.toEqual(Array.from(pa['l.kernel'].dataSync()));
      tf.dispose([...Object.values(st), reset.global_step, ...gs.flatMap((g) => Object.values(g)), ...Object.values(pa), ...Object.values(pb), ...Object.values(pc)]);
      [a, b2, c1, c2].forEach((o) => o.dispose());
    }
  });
});

describe('bias-correction defaults and flags', () => {
  it('on for fine-tuning and train, off for pretraining (ALBERT parity)', () => {
    expect(BIAS_CORRECTION_DEFAULTS).toEqual({ pretrain: false, finetune: true, train: true });
    expect(FINETUNE_DEFAULTS.biasCorrection).toBe(true);
    expect(E.map((o: Optimizer) => o.hyper.biasCorrection)(createOptimizer('adamw'))).toEqual(E.right(false)); // the optimizer's own default: the reference
    expect(FINETUNE_OPTIONS['bias-correction'].default).toBe('on');
    expect(PRETRAIN_OPTIONS['bias-correction'].default).toBe('off');
  });

  it('--bias-correction on|off is read by finetune and pretrain; anything else is a usage error', () => {
    const base = { checkpoint: 'ck', train: 't.jsonl', eval: 'e.jsonl', out: 'o' };
    expect(finetuneConfigFromFlags(base).biasCorrection).toBe(true);
    expect(finetuneConfigFromFlags({ ...base, 'bias-correction': 'off' }).biasCorrection).toBe(false);
    expect(finetuneConfigFromFlags({ ...base, 'bias-correction': 'on' }).biasCorrection).toBe(true);
    expect(() => finetuneConfigFromFlags({ ...base, 'bias-correction': 'yes' })).toThrow(CliError);
    expect(() => finetuneConfigFromFlags({ ...base, 'bias-correction': 'yes' })).toThrow('--bias-correction must be on or off, got "yes"');
    const pre = { model: 'albert-base', out: 'o' };
    expect(runConfigFromFlags(pre).biasCorrection).toBe(false);
    expect(runConfigFromFlags({ ...pre, 'bias-correction': 'on' }).biasCorrection).toBe(true);
  });
});
