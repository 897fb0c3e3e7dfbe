// `generate` with and without the key/value cache, on a tiny random GPT-2 (the real
// gpt2LMHeadModel value, tied head in a fanout): cached step-by-step logits equal the full window's
// at every position (within 1e-5 of the row's largest magnitude), greedy decoding is identical on
// both paths, seeded sampling is reproducible, generation stops at the model's positions on both
// paths, a model the cache cannot serve falls back with one line naming the node, and no tensor
// leaks over a generation.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { defaultTokenizer, gpt2LMHeadModel, tinyGpt2Config, type Tokenizer } from '@lamina/albert';
import { compile, compileIncremental, conv1d, dense, disposeCache, embedding, emptyCache, init, named, positionalEmbedding, seq, unwrap, type KvCache, type Node, type RawTensor } from '@lamina/dsl';
import { decodingPlan, generate, type GenerateRequest } from '../src/run/generate.js';

const tok = ((): Tokenizer => {
  const t = defaultTokenizer();
  if (E.isLeft(t)) throw new Error(t.left.message);
  return t.right;
})();
const V = tok.vocabSize;

const raw = (model: Node, seed: number): Record<string, RawTensor> => {
  const store = unwrap(init(model, seed));
  const out = Object.fromEntries(Object.entries(store).map(([k, v]) => [k, { dtype: 'float32', shape: [...v.shape], data: v.dataSync() as Float32Array } as RawTensor]));
  Object.values(store).forEach((v) => v.dispose());
  return out;
};

const gpt = gpt2LMHeadModel(tinyGpt2Config({ vocabSize: V, maxPositions: 24, hiddenSize: 16, numLayers: 2, numHeads: 2, innerSize: 32 }));
const gptParams = raw(gpt, 5);

const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: gpt,
  params: gptParams,
  tokenizer: tok,
  prompt: 'Call me Ishmael.',
  maxNewTokens: 6,
  sampling: { temperature: 0 },
  seed: 1,
  stopAtSep: false,
  ...over,
});

const ok = async (r: GenerateRequest) => {
  const g = await generate(r);
  if (E.isLeft(g)) throw new Error(g.left);
  return g.right;
};

describe('GPT-2 tiny: cached logits = full-window logits', () => {
  it('prompt of random length, then k steps (10 cases)', () => {
    const fwd = unwrap(compile(gpt, { input: 'input_ids' }));
    const dec = unwrap(compileIncremental(gpt, { input: 'input_ids' }));
    expect(dec.applications).toBe(2);
    const params = Object.fromEntries(Object.entries(gptParams).map(([k, v]) => [k, tf.tensor(v.data, [...v.shape], 'float32')]));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 14, maxLength: 14 }), (p, k, ids) => {
        const full = tf.tidy(() => ((fwd(params, { input_ids: tf.tensor2d([ids.slice(0, p + k)], undefined, 'int32') }) as Record<string, tf.Tensor>).logits as tf.Tensor).arraySync() as number[][][]);
        let cache: KvCache = emptyCache();
        for (let t = 0; t <= k; t++) {
          const x = tf.tensor2d([t === 0 ? ids.slice(0, p) : ids.slice(p + t - 1, p + t)], undefined, 'int32');
          const s = dec.step(params, cache, x);
          const got = (s.logits.arraySync() as number[][][])[0]?.[0] as number[];
          const want = (full[0] as number[][])[p + t - 1] as number[];
          const scale = Math.max(...want.map(Math.abs));
          const err = got.reduce((m, g, j) => Math.max(m, Math.abs(g - (want[j] as number))), 0);
          expect(err, `position ${p + t - 1}`).toBeLessThanOrEqual(1e-5 * scale);
          x.dispose();
          s.logits.dispose();
          disposeCache(cache);
          cache = s.cache;
        }
        disposeCache(cache);
      }),
      { numRuns: 10 },
    );
    Object.values(params).forEach((t) => t.dispose());
  });
});

describe('generate: the cache changes the speed, not the text', () => {
  it('greedy (temperature 0) gives the same ids with the graph cache, the eager cache and without a cache, and says which path ran', async () => {
    const lines: string[] = [];
    const a = await ok(request({ maxNewTokens: 8, onPlan: (l) => lines.push(l) }));
    const b = await ok(request({ maxNewTokens: 8, cache: false, onPlan: (l) => lines.push(l) }));
    const c = await ok(request({ maxNewTokens: 8, engine: 'eager', onPlan: (l) => lines.push(l) }));
    expect([a.decoding, a.engine]).toEqual(['cache', 'graph']);
    expect([b.decoding, b.engine]).toEqual(['window', undefined]);
    expect([c.decoding, c.engine]).toEqual(['cache', 'eager']);
    expect(a.newTokens).toBe(8);
    expect(a.ids).toEqual(b.ids);
    expect(c.ids).toEqual(b.ids);
    expect(lines).toEqual([
      'generate: key/value cache (2 attention application(s) cached; one position per new token, each step one graph function)',
      'generate: no key/value cache (--no-cache); running the whole window per new token',
      'generate: key/value cache (2 attention application(s) cached; one position per new token, op by op)',
    ]);
  });

  it('the graph decoder traces its decode step once (the prompt runs eager), reused by later generations of the same model', async () => {
    await ok(request({ maxNewTokens: 3 }));
    const plan = decodingPlan(gpt, undefined, true);
    if (E.isLeft(plan) || plan.right.kind !== 'cache' || plan.right.engine !== 'graph') throw new Error('expected the graph decoder');
    const traced = plan.right.decoder.tracedFunctions();
    expect(traced).toBe(1);
    await ok(request({ maxNewTokens: 6 }));
    await ok(request({ maxNewTokens: 6, sampling: { temperature: 0.7 }, seed: 3 }));
    expect(plan.right.decoder.tracedFunctions()).toBe(traced);
  });

  it('seeded sampling is reproducible (and the same on both paths for the same seed)', async () => {
    const s = { temperature: 0.9, topK: 50, topP: 0.95 };
    const a = await ok(request({ sampling: s, seed: 11, maxNewTokens: 8 }));
    const b = await ok(request({ sampling: s, seed: 11, maxNewTokens: 8 }));
    const c = await ok(request({ sampling: s, seed: 11, maxNewTokens: 8, cache: false }));
    const d = await ok(request({ sampling: s, seed: 12, maxNewTokens: 8 }));
    expect(a.ids).toEqual(b.ids);
    expect(a.ids).toEqual(c.ids);
    expect(d.ids).not.toEqual(a.ids);
  });

  it('stops at the model positions on both paths (no sliding window)', async () => {
    for (const [cache, engine] of [[true, 'graph'], [true, 'eager'], [false, 'graph']] as const) {
      const g = await ok(request({ maxNewTokens: 100, cache, engine }));
      expect(g.stop).toBe('positions');
      expect(g.ids.length).toBe(24);
    }
    const long = await generate(request({ prompt: Array.from({ length: 30 }, () => 'whale').join(' ') }));
    expect(E.isLeft(long) && long.left).toMatch(/^the prompt is \d+ tokens; the model has 24 positions$/);
  });

  it('leaks no tensor over a generation, on every path', async () => {
    await ok(request({ maxNewTokens: 2 }));
    for (const [cache, engine] of [[true, 'graph'], [true, 'eager'], [false, 'graph']] as const) {
      const before = tf.memory().numTensors;
      await ok(request({ maxNewTokens: 10, cache, engine }));
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('a model the cache cannot serve falls back to the window, in one line naming the node', async () => {
    const cnn = seq(embedding(V, 8), positionalEmbedding(32, 8), named('conv', conv1d(8, 8, 3, { padding: 'same' })), dense(8, V));
    const plan = decodingPlan(cnn, undefined, true);
    expect(E.isRight(plan) && plan.right.kind).toBe('window');
    expect(E.isRight(plan) && plan.right.line).toBe('generate: no key/value cache: conv: cannot be decoded with a key/value cache: a convolution reads neighbouring positions, later ones included; running the whole window per new token');
    const g = await ok(request({ model: cnn, params: raw(cnn, 2), maxNewTokens: 4 }));
    expect(g.decoding).toBe('window');
    expect(g.newTokens).toBe(4);
  });
});
