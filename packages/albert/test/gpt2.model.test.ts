// GPT-2 as a DSL value: exact parameter counts for the four presets (golden numbers counted by
// transformers' GPT2LMHeadModel in scripts/python/make_gpt2_fixtures.py, and the closed form),
// the closed form for any small config, agreement between the model's parameter paths and the
// Hugging Face name map, shapes, causality and the tied head.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import { compile, countParams, disposeParams, formatModelError, inferShape, init, paramSpecs, summary, tensorSig, unwrap } from '@lamina/dsl';
import {
  GPT2_PRESETS,
  GPT2_PRESET_NAMES,
  gpt2HfNameMap,
  gpt2LMHeadModel,
  gpt2ParamFormula,
  gpt2Transformer,
  tinyGpt2Config,
  type Gpt2Config,
} from '../src/index.js';

const golden = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, 'fixtures/gpt2/param-counts.json'), 'utf8')) as { counts: Record<string, number> };
const count = (c: Gpt2Config): number => unwrap(countParams(gpt2LMHeadModel(c)));

describe('parameter counts equal Hugging Face GPT2LMHeadModel (LM head tied to wte)', () => {
  it.each([
    ['gpt2', 124_439_808],
    ['gpt2-medium', 354_823_168],
    ['gpt2-large', 774_030_080],
    ['gpt2-xl', 1_557_611_200],
  ] as const)('%s has %d parameters: the model value, the closed form and transformers agree', (name, expected) => {
    expect(count(GPT2_PRESETS[name])).toBe(expected);
    expect(gpt2ParamFormula(GPT2_PRESETS[name])).toBe(expected);
    // counted by transformers itself (regenerate: .venv/bin/python scripts/python/make_gpt2_fixtures.py)
    expect(golden.counts[name]).toBe(expected);
  });

  it('the golden file lists exactly the four presets', () => {
    expect(Object.keys(golden.counts).sort()).toEqual([...GPT2_PRESET_NAMES].sort());
  });

  it('follow the closed form for any small config (property, 200 cases)', () => {
    fc.assert(
      fc.property(
        fc.record({
          V: fc.integer({ min: 2, max: 300 }),
          P: fc.integer({ min: 1, max: 64 }),
          heads: fc.integer({ min: 1, max: 4 }),
          headSize: fc.integer({ min: 1, max: 8 }),
          I: fc.integer({ min: 1, max: 50 }),
          L: fc.integer({ min: 1, max: 5 }),
        }),
        ({ V, P, heads, headSize, I, L }) => {
          const H = heads * headSize;
          const c = tinyGpt2Config({ vocabSize: V, maxPositions: P, hiddenSize: H, numHeads: heads, innerSize: I, numLayers: L, bosTokenId: 0, eosTokenId: 0 });
          const perLayer = 2 * H + (3 * H * H + 3 * H) + (H * H + H) + 2 * H + (H * I + I) + (I * H + H);
          expect(count(c)).toBe(V * H + P * H + L * perLayer + 2 * H);
          expect(gpt2ParamFormula(c)).toBe(count(c));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the tied LM head owns no parameter and makes wte used twice', () => {
    const c = tinyGpt2Config();
    expect(count(c)).toBe(unwrap(countParams(gpt2Transformer(c))));
    const wte = unwrap(paramSpecs(gpt2LMHeadModel(c))).find((s) => s.path === 'wte.embeddings');
    expect(wte?.uses).toBe(2);
  });
});

describe('parameter paths', () => {
  it('are exactly the lamina side of the Hugging Face name map, with the same shapes, for every preset and a tiny config', () => {
    for (const c of [...Object.values(GPT2_PRESETS), tinyGpt2Config({ numLayers: 3, innerSize: 40 })]) {
      const specs = Object.fromEntries(unwrap(paramSpecs(gpt2LMHeadModel(c))).map((s) => [s.path, [...s.shape]]));
      const mapped = Object.fromEntries(gpt2HfNameMap(c).flatMap((e) => e.parts.map((p) => [p.lamina, [...p.shape]])));
      expect(mapped).toEqual(specs);
    }
  });

  it('read like Hugging Face module names', () => {
    const paths = unwrap(paramSpecs(gpt2LMHeadModel(tinyGpt2Config({ numLayers: 1 })))).map((s) => s.path);
    expect(paths).toEqual([
      'wte.embeddings',
      'wpe.embeddings',
      'h.0.ln_1.gamma',
      'h.0.ln_1.beta',
      ...['query', 'key', 'value', 'output'].flatMap((p) => [`h.0.attn.${p}.kernel`, `h.0.attn.${p}.bias`]),
      'h.0.ln_2.gamma',
      'h.0.ln_2.beta',
      'h.0.mlp.c_fc.kernel',
      'h.0.mlp.c_fc.bias',
      'h.0.mlp.c_proj.kernel',
      'h.0.mlp.c_proj.bias',
      'ln_f.gamma',
      'ln_f.beta',
    ]);
  });

  it('the MLP output projection has GPT-2 scaled initialisation std/sqrt(2N)', () => {
    const c = tinyGpt2Config({ numLayers: 8 });
    const spec = unwrap(paramSpecs(gpt2LMHeadModel(c))).find((s) => s.path === 'h.3.mlp.c_proj.kernel');
    expect(spec?.init).toEqual({ kind: 'normal', std: 0.02 / 4 });
  });
});

describe('shapes', () => {
  const c = tinyGpt2Config();
  it('ids [B, S] (+ attention_mask) → { logits: [B, S, V] }, inferred without tensors', () => {
    const sig = unwrap(inferShape(gpt2LMHeadModel(c), tensorSig([null, 9], 'int32'), { attention_mask: tensorSig([null, 9], 'int32') }));
    expect(sig).toEqual({ outputs: { logits: tensorSig([null, 9, c.vocabSize]) } });
    expect(unwrap(summary(gpt2LMHeadModel(c), tensorSig([2, 9], 'int32')))).toContain('lm_head');
  });

  it('a mask that does not fit the sequence is a path-located error', () => {
    const r = inferShape(gpt2LMHeadModel(c), tensorSig([2, 9], 'int32'), { attention_mask: tensorSig([2, 7], 'int32') });
    expect(E.isLeft(r) && formatModelError(r.left)).toMatch(/^h\.0\.attn: side input "attention_mask"/);
  });
});

describe('compiled', () => {
  const c = tinyGpt2Config({ vocabSize: 31, hiddenSize: 16, numHeads: 2, innerSize: 24, maxPositions: 12, bosTokenId: 0, eosTokenId: 0 });
  const model = gpt2LMHeadModel(c);
  const forward = unwrap(compile(model, { input: 'input_ids' }));

  it('is causal: logits at positions <= i do not depend on the tokens after i', () => {
    const params = unwrap(init(model, 3));
    try {
      const [a, b] = tf.tidy(() => {
        const x = tf.tensor2d([[1, 5, 9, 2, 7, 3]], undefined, 'int32');
        const y = tf.tensor2d([[1, 5, 9, 30, 0, 11]], undefined, 'int32');
        const la = (forward(params, { input_ids: x }) as Record<string, tf.Tensor>).logits as tf.Tensor;
        const lb = (forward(params, { input_ids: y }) as Record<string, tf.Tensor>).logits as tf.Tensor;
        return [la.arraySync() as number[][][], lb.arraySync() as number[][][]];
      });
      expect(a[0]!.slice(0, 3)).toEqual(b[0]!.slice(0, 3)); // same code, same process: exact
      expect(a[0]![3]).not.toEqual(b[0]![3]);
    } finally {
      disposeParams(params);
    }
  });

  it('right padding leaves the logits at real positions unchanged (within 1e-5)', () => {
    const params = unwrap(init(model, 4));
    try {
      const d = tf.tidy(() => {
        const alone = (forward(params, { input_ids: tf.tensor2d([[4, 8, 15, 16]], undefined, 'int32') }) as Record<string, tf.Tensor>).logits as tf.Tensor;
        const padded = (
          forward(params, { input_ids: tf.tensor2d([[4, 8, 15, 16, 0, 0]], undefined, 'int32'), attention_mask: tf.tensor2d([[1, 1, 1, 1, 0, 0]], undefined, 'int32') }) as Record<
            string,
            tf.Tensor
          >
        ).logits as tf.Tensor;
        return tf.max(tf.abs(tf.sub(alone, tf.slice(padded, [0, 0, 0], [1, 4, -1])))).dataSync()[0] as number;
      });
      expect(d).toBeLessThanOrEqual(1e-5);
    } finally {
      disposeParams(params);
    }
  });
});

describe('trainable', () => {
  it('next-token loss on a periodic sequence falls below half its start in 25 Adam steps (gradients reach every parameter)', () => {
    const c = tinyGpt2Config({ vocabSize: 13, hiddenSize: 16, numHeads: 2, innerSize: 32, maxPositions: 16, bosTokenId: 0, eosTokenId: 0 });
    const model = gpt2LMHeadModel(c);
    const forward = unwrap(compile(model, { input: 'input_ids' }));
    const params = unwrap(init(model, 5));
    const opt = tf.train.adam(0.03);
    const seqs = [0, 1, 2].map((o) => Array.from({ length: 13 }, (_, i) => ((i + o) * 5) % 13));
    const ids = tf.tensor2d(seqs.map((s) => s.slice(0, -1)), undefined, 'int32');
    const labels = tf.tensor2d(seqs.map((s) => s.slice(1)), undefined, 'int32');
    const loss = (): tf.Scalar => {
      const logits = (forward(params, { input_ids: ids }) as Record<string, tf.Tensor>).logits as tf.Tensor;
      return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.reshape(labels, [-1]), c.vocabSize), tf.reshape(logits, [-1, c.vocabSize])) as tf.Scalar;
    };
    try {
      const first = tf.tidy(() => loss().dataSync()[0] as number);
      const { grads } = tf.variableGrads(loss, Object.values(params));
      for (const [k, g] of Object.entries(grads)) expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0] as number), k).toBeGreaterThan(0);
      tf.dispose(grads);
      for (let i = 0; i < 25; i++) opt.minimize(loss, true, Object.values(params))?.dispose();
      const last = tf.tidy(() => loss().dataSync()[0] as number);
      expect(last).toBeLessThan(first / 2);
    } finally {
      disposeParams(params);
      tf.dispose([ids, labels]);
      opt.dispose();
    }
  });
});
