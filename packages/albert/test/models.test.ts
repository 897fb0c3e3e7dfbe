// The model files of the top-level models/ folder (what `lamina train --model models/<x>.ts`
// loads): each default export is a DSL value or `({ vocabSize, seqLength, numLabels }) => value`
// that passes shape inference, compiles, and runs on tiny dims. models/gpt2.ts is the same value
// as the library's gpt2LMHeadModel.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { compile, countParams, decodeModel, disposeParams, encodeModel, equalLayers, init, inferShape, tensorSig, unwrap, type Node, type Signature } from '@lamina/dsl';
import gpt2File, { gpt2 } from '../../../models/gpt2.js';
import { convClassifier } from '../../../models/conv-classifier.js';
import { universalTransformer } from '../../../models/universal-transformer.js';
import { GPT2_PRESETS, gpt2LMHeadModel, tinyGpt2Config } from '../src/index.js';

const MODELS_DIR = path.resolve(import.meta.dirname, '..', '..', '..', 'models');
const dims = { vocabSize: 50, seqLength: 12, numLabels: 3 };

/** A value with nested `seq`s flattened: `seq(seq(a, b), c)` → `seq(a, b, c)` (seq is associative, a law of the DSL). */
const flatSeqs = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(flatSeqs);
  if (v === null || typeof v !== 'object') return v;
  const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, flatSeqs(x)])) as Record<string, unknown>;
  if (o['kind'] === 'seq') o['layers'] = (o['layers'] as Record<string, unknown>[]).flatMap((l) => (l['kind'] === 'seq' ? (l['layers'] as unknown[]) : [l]));
  return o;
};
const sameModel = (a: Node, b: Node): boolean => equalLayers(flatSeqs(a) as Node, flatSeqs(b) as Node);

type Dims = { vocabSize: number; seqLength: number; numLabels: number };
type ModelFile = { default: Node | ((d: Dims) => Node) };
const load = async (file: string, d: Dims): Promise<Node> => {
  const m = (await import(path.join(MODELS_DIR, file))) as ModelFile;
  return typeof m.default === 'function' ? m.default(d) : m.default;
};

const lm = { ...dims, numLabels: 0 }; // what the CLI passes for clm/mlm
/** Each file, called as the CLI calls it, and what its model must produce for ids [2, 12]: output name → shape. */
const cases: readonly { file: string; args: Dims; outputs: Record<string, number[]> }[] = [
  { file: 'gpt2.ts', args: lm, outputs: { logits: [2, 12, dims.vocabSize] } },
  { file: 'universal-transformer.ts', args: lm, outputs: { logits: [2, 12, dims.vocabSize] } },
  { file: 'universal-transformer.ts', args: dims, outputs: { logits: [2, dims.numLabels] } },
  { file: 'conv-classifier.ts', args: dims, outputs: { output: [2, dims.numLabels] } },
];
const FILES = [...new Set(cases.map((c) => c.file))];

/** Runs a model on a tiny right-padded batch; output name → { shape, finite }. */
const run = (model: Node, seed = 7): Record<string, { shape: number[]; finite: boolean; values: number[] }> => {
  const forward = unwrap(compile(model, { input: 'input_ids' }));
  const params = unwrap(init(model, seed));
  try {
    return tf.tidy(() => {
      const ids = tf.tensor2d(Array.from({ length: 2 }, (_, b) => Array.from({ length: dims.seqLength }, (_, i) => (b * 7 + i * 3) % dims.vocabSize)), undefined, 'int32');
      const mask = tf.tensor2d([Array(dims.seqLength).fill(1), [...Array(dims.seqLength - 4).fill(1), 0, 0, 0, 0]], undefined, 'int32');
      const out = forward(params, { input_ids: ids, attention_mask: mask }, { training: true, seed: 1 });
      const named = out instanceof tf.Tensor ? { output: out } : out;
      return Object.fromEntries(
        Object.entries(named).map(([k, t]) => [k, { shape: t.shape, finite: tf.all(tf.isFinite(t)).dataSync()[0] === 1, values: Array.from(t.dataSync()) }]),
      );
    });
  } finally {
    disposeParams(params);
  }
};

describe('models/ files', () => {
  it('every file in models/ is listed here and short (about 60 lines at most)', () => {
    const files = fs.readdirSync(MODELS_DIR).filter((f) => f.endsWith('.ts'));
    expect(files.sort()).toEqual([...FILES].sort());
    for (const f of files) expect(fs.readFileSync(path.join(MODELS_DIR, f), 'utf8').trimEnd().split('\n').length, f).toBeLessThanOrEqual(62);
  });

  it('import nothing but @lamina/dsl', () => {
    for (const f of FILES) {
      const src = fs.readFileSync(path.join(MODELS_DIR, f), 'utf8');
      const imports = [...src.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
      expect(new Set(imports), f).toEqual(new Set(['@lamina/dsl']));
    }
  });

  describe.each(cases.map((c) => [`${c.file} (numLabels ${c.args.numLabels})`, c] as const))('%s', (_name, c) => {
    it('passes shape inference, compiles and runs on tiny dims (finite outputs of the inferred shapes)', async () => {
      const model = await load(c.file, c.args);
      const side = { attention_mask: tensorSig([2, dims.seqLength], 'int32') };
      const sig = unwrap(inferShape(model, tensorSig([2, dims.seqLength], 'int32'), side)) as Signature;
      const shapes = 'outputs' in sig ? Object.fromEntries(Object.entries(sig.outputs).map(([k, s]) => [k, s.shape])) : { output: sig.shape };
      expect(shapes).toEqual(c.outputs);
      expect(unwrap(countParams(model))).toBeGreaterThan(0);
      const got = run(model);
      for (const [k, shape] of Object.entries(c.outputs)) expect({ shape: got[k]?.shape, finite: got[k]?.finite }, `${c.file}: ${k}`).toEqual({ shape, finite: true });
    });

    it('survives the JSON codec (the form `lamina train --model file.json` reads): same value, same outputs', async () => {
      const model = await load(c.file, c.args);
      const back = unwrap(decodeModel(JSON.parse(JSON.stringify(encodeModel(model)))));
      expect(equalLayers(back, model)).toBe(true);
      expect(run(back)).toEqual(run(model)); // same code, same process: exact
    });
  });
});

describe('models/universal-transformer.ts', () => {
  it('stores one block whatever the number of steps', () => {
    const counts = [1, 2, 6, 12].map((steps) => unwrap(countParams(universalTransformer({ vocabSize: 50, numLabels: 3, steps }))));
    expect(new Set(counts).size).toBe(1);
    const H = 64;
    const block = 4 * (H * H + H) + 2 * H + (H * 4 * H + 4 * H) + (4 * H * H + H) + 2 * H;
    expect(counts[0]).toBe(50 * H + block + (H * H + H) + (H * 3 + 3));
  });

  it('the step signal is part of the value and changes the outputs (same parameters, same inputs)', () => {
    const m = universalTransformer({ vocabSize: 50, numLabels: 0, steps: 3, dropout: 0 });
    const withoutStep = JSON.parse(JSON.stringify(m), (k, v) => (k === 'step' ? undefined : v)) as Node;
    expect(JSON.stringify(m)).toContain('"stepSignal"');
    expect(unwrap(countParams(withoutStep))).toBe(unwrap(countParams(m)));
    const a = run(m).logits!.values;
    const b = run(withoutStep).logits!.values;
    const diff = Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));
    expect(diff).toBeGreaterThan(1e-3);
  });
});

describe('models/conv-classifier.ts', () => {
  it('counts as the architecture says: V·E + Σ_w (w·E·F + F) + (|widths|·F + 1)·labels', () => {
    const V = 50;
    const [E, F] = [64, 64];
    expect(unwrap(countParams(convClassifier({ vocabSize: V, numLabels: 3 })))).toBe(V * E + [3, 4, 5].reduce((a, w) => a + w * E * F + F, 0) + (3 * F + 1) * 3);
    expect(unwrap(countParams(convClassifier({ vocabSize: V, numLabels: 2, embeddingSize: 8, filters: 5, widths: [2] })))).toBe(V * 8 + (2 * 8 * 5 + 5) + (5 + 1) * 2);
  });

  it('ignores what lies past the real tokens: padding ids do not change the logits (eval mode)', () => {
    const m = convClassifier({ vocabSize: 50, numLabels: 3, embeddingSize: 8, filters: 6 });
    const forward = unwrap(compile(m, { input: 'input_ids' }));
    const params = unwrap(init(m, 2));
    try {
      const [a, b] = tf.tidy(() => {
        const mask = tf.tensor2d([[1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]], undefined, 'int32');
        const run1 = (ids: number[]) => (forward(params, { input_ids: tf.tensor2d([ids], undefined, 'int32'), attention_mask: mask }) as tf.Tensor).arraySync();
        // the convolution of width <= 5 with 'same' padding sees at most 2 positions past position 7: change only positions >= 10
        return [run1([5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0]), run1([5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 33, 44])];
      });
      expect(a).toEqual(b); // same code, same process: exact
    } finally {
      disposeParams(params);
    }
  });
});

describe('models/gpt2.ts', () => {
  it('is the library value gpt2LMHeadModel (up to seq associativity) for every preset and for a tiny config', () => {
    for (const c of Object.values(GPT2_PRESETS))
      expect(sameModel(gpt2({ vocabSize: c.vocabSize, maxPositions: c.maxPositions, hiddenSize: c.hiddenSize, numLayers: c.numLayers, numHeads: c.numHeads }), gpt2LMHeadModel(c))).toBe(true);
    const tiny = tinyGpt2Config({ residDropout: 0.2, embdDropout: 0.2, attnDropout: 0.2, innerSize: 40, layerNormEps: 1e-6, initializerRange: 0.05 });
    const fromFile = gpt2({ ...tiny, dropout: 0.2, initStd: 0.05 });
    expect(sameModel(fromFile, gpt2LMHeadModel(tiny))).toBe(true);
    expect(sameModel(fromFile, gpt2LMHeadModel({ ...tiny, innerSize: 41 }))).toBe(false);
    expect(equalLayers(fromFile, gpt2LMHeadModel(tiny))).toBe(false); // nested differently, so the flattening is needed
  });

  it('its default export is a small GPT-2 at the given vocabulary and length', () => {
    expect(unwrap(countParams(gpt2File({ vocabSize: 50, seqLength: 12 })))).toBe(50 * 64 + 12 * 64 + 2 * (12 * 64 * 64 + 13 * 64) + 2 * 64);
  });
});
