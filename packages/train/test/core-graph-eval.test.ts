// Evaluation on the graph path against the eager path: the same eval sums within 1e-5 relative
// for random DSL models (fast-check, the DSL's own endo-layer generator), GPT-2 clm, ALBERT
// pretraining (MLM + SOP, the pretrainer's own eval and `lamina eval`'s evaluator) and a
// fine-tuning head's predictions; one trace per batch shape, reused after the weights change; no
// tensor leak over repeated calls; the eager engine is evalSumsOf itself.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { compile, init, unwrap, type Node } from '@lamina/dsl';
import { collate, gpt2LMHeadModel, tinyConfig, tinyGpt2Config, type Batch, type Instance } from '@lamina/albert';
import { endoLayer, smallDim } from '../../dsl/test/arbitraries.js';
import { evalSumsOf, float32, int32, type Feed } from '../src/core/step.js';
import { evalSumsEngine } from '../src/core/graph-eval.js';
import { classifyObjective } from '../src/objectives/index.js';
import { prepareModel } from '../src/run/train.js';
import { createMlmEvaluator, createPretrainer } from '../src/pretrainer.js';
import { createTaskTrainer } from '../src/finetune/model.js';
import type { TaskBatch } from '../src/finetune/encode.js';

const TOL = 1e-5;
const relClose = (a: number, b: number): boolean => Math.abs(a - b) <= TOL * Math.max(1, Math.abs(a), Math.abs(b));
const expectClose = (a: readonly number[], b: readonly number[], what: string): void => {
  expect(b.length, what).toBe(a.length);
  a.forEach((x, i) => expect(relClose(x, b[i] as number), `${what} [${i}]: eager ${x} graph ${b[i]}`).toBe(true));
};

describe('evalSumsEngine (graph) against eager evaluation', () => {
  it('random DSL models with a classify head: the same sums, one trace per batch shape (50 models)', async () => {
    let n = 0;
    const C = 3;
    await fc.assert(
      fc.asyncProperty(smallDim.chain((d) => fc.tuple(fc.constant(d), endoLayer(d, 2), fc.integer({ min: 1, max: 1000 }))), async ([d, body, seed]) => {
        const model: Node = {
          kind: 'seq',
          layers: [{ kind: 'dense', inDim: d, outDim: d, bias: true, activation: 'identity', initStd: 0.3 }, body, { kind: 'dense', inDim: d, outDim: C, bias: true, activation: 'identity', initStd: 0.3 }],
        };
        const forward = unwrap(compile(model));
        const objective = classifyObjective(C);
        const params = unwrap(init(model, seed));
        const notices: string[] = [];
        const graph = evalSumsEngine('graph', forward, objective, { onNotice: (l) => notices.push(l) });
        const eager = evalSumsEngine('eager', forward, objective);
        for (const B of [3, 2, 3]) {
          const feed: Feed = {
            inputs: { input: float32([B, d], Array.from({ length: B * d }, (_, i) => Math.sin(i * 1.3 + seed))) },
            targets: { labels: int32([B], Array.from({ length: B }, (_, i) => (i + seed) % C)) },
            tokens: B,
          };
          const [a, b, c] = [await eager(params, feed), await graph(params, feed), await evalSumsOf(forward, objective, params, feed)];
          expect(a).toEqual(c);
          expectClose(a, b, `batch ${B}`);
        }
        expect(notices).toEqual([]);
        expect(graph.engine()).toBe('graph');
        expect(graph.tracedFunctions()).toBe(2);
        expect(eager.tracedFunctions()).toBe(0);
        tf.dispose(Object.values(params));
        n++;
      }),
      { numRuns: 50, seed: 31 },
    );
    expect(n).toBe(50);
  });

  it('GPT-2 clm: the same sums; new weights reuse the traced function; no tensor leak over repeated calls', async () => {
    const V = 23;
    const S = 6;
    const node = gpt2LMHeadModel(tinyGpt2Config({ vocabSize: V, maxPositions: S, hiddenSize: 8, numHeads: 2, numLayers: 2, innerSize: 16 }));
    const { forward, objective } = unwrap(E.mapLeft((m: string) => new Error(m))(prepareModel(node, { objective: 'clm', batchSize: 2, data: { seqLength: S } as never }, { vocabSize: V, numLabels: 1 })));
    const feedOf = (B: number, salt: number): Feed => {
      const n = B * S;
      const mask = Array.from({ length: n }, (_, i) => (i % S < S - ((i / S) | 0) % 2 ? 1 : 0));
      return {
        inputs: { input_ids: int32([B, S], Array.from({ length: n }, (_, i) => 1 + ((i * 7 + salt) % (V - 1)))), attention_mask: int32([B, S], mask) },
        targets: { labels: int32([B, S], Array.from({ length: n }, (_, i) => (i * 3 + salt) % V)), weights: float32([B, S], mask) },
        tokens: n,
      };
    };
    const graph = evalSumsEngine('graph', forward, objective, { onNotice: (l) => expect.fail(l) });
    for (const seed of [1, 2]) {
      const params = unwrap(init(node, seed));
      for (const B of [2, 3]) expectClose(await evalSumsOf(forward, objective, params, feedOf(B, seed)), await graph(params, feedOf(B, seed)), `seed ${seed} batch ${B}`);
      if (seed === 2) {
        const before = tf.memory().numTensors;
        for (let i = 0; i < 30; i++) await graph(params, feedOf(2, i));
        expect(tf.memory().numTensors).toBe(before);
      }
      tf.dispose(Object.values(params));
    }
    expect(graph.tracedFunctions()).toBe(2);
  });
});

const instances = (n: number, salt: number): Instance[] =>
  Array.from({ length: n }, (_, i) => {
    const len = 8 + ((i + salt) % 4);
    const ids = Int32Array.from({ length: len }, (_, j) => (j === 0 ? 2 : j === len - 1 || j === 4 ? 3 : 5 + ((i * 5 + j * 3 + salt) % 30)));
    const types = Int32Array.from({ length: len }, (_, j) => (j > 4 ? 1 : 0));
    const original = Int32Array.from([ids[1] as number, ids[6] as number]);
    ids[1] = 4;
    ids[6] = 4;
    return { inputIds: ids, tokenTypeIds: types, maskedLmPositions: Int32Array.from([1, 6]), maskedLmIds: original, sentenceOrderLabel: ((i + salt) % 2) as 0 | 1 };
  });
const batchOf = (n: number, salt: number): Batch => collate(instances(n, salt), { seqLength: 12, maxPredictions: 3, padId: 0 });
const config = tinyConfig({ vocabSize: 40, hiddenSize: 16, embeddingSize: 8, intermediateSize: 24, numAttentionHeads: 2, maxPositionEmbeddings: 16, hiddenDropoutProb: 0.1 });
const sumsOf = (s: { mlmLossSum: number; mlmCorrect: number; mlmCount: number; orderCorrect: number; orderCount: number }): number[] => [s.mlmLossSum, s.mlmCorrect, s.mlmCount, s.orderCorrect, s.orderCount];

describe('pretraining and fine-tuning evaluation on the graph path', () => {
  it('ALBERT MLM + SOP: the pretrainer evaluates the same on both engines without leaking, and so does lamina eval’s evaluator', async () => {
    const opts = { config, objective: 'sop' as const, optimizer: 'adamw' as const, seed: 5, mlmPositions: 'masked' as const };
    const notices: string[] = [];
    const eager = unwrap(createPretrainer({ ...opts, engine: 'eager' }));
    const graph = unwrap(createPretrainer({ ...opts, engine: 'graph', onNotice: (l) => notices.push(l) }));
    for (const [n, salt] of [[4, 0], [3, 1], [4, 2]] as const) expectClose(sumsOf(await eager.evaluate(batchOf(n, salt))), sumsOf(await graph.evaluate(batchOf(n, salt))), `pretrainer batch ${n}`);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) await graph.evaluate(batchOf(4, i));
    expect(tf.memory().numTensors).toBe(before);
    const weights = Object.fromEntries(Object.entries(eager.params).map(([k, v]) => [k, { dtype: 'float32' as const, shape: [...v.shape], data: v.dataSync() as Float32Array }]));
    const ee = unwrap(createMlmEvaluator(config, 'sop', weights));
    const ge = unwrap(createMlmEvaluator(config, 'sop', weights, { engine: 'graph', onNotice: (l) => notices.push(l) }));
    expect([ee.engine(), ge.engine()]).toEqual(['eager', 'graph']);
    for (const salt of [0, 1]) {
      const [a, b] = [await ee.evaluate(batchOf(4, salt)), await ge.evaluate(batchOf(4, salt))];
      expectClose(sumsOf(a), sumsOf(b), `evaluator salt ${salt}`);
      // the evaluator and the pretrainer's own eval agree (the same parameters)
      expectClose(sumsOf(await eager.evaluate(batchOf(4, salt))).slice(0, 4), sumsOf(b).slice(0, 4), `evaluator vs pretrainer salt ${salt}`);
    }
    expect(notices).toEqual([]);
    [eager, graph, ee, ge].forEach((t) => t.dispose());
  });

  it('a fine-tuning classification head: the same held-out logits on both engines', async () => {
    const notices: string[] = [];
    const mk = (engine: 'graph' | 'eager') => unwrap(E.mapLeft((m: string) => new Error(m))(createTaskTrainer({ config, kind: 'classify', numLabels: 3, optimizer: 'adamw', seed: 7, engine, onNotice: (l) => notices.push(l) })));
    const [a, b] = [mk('eager'), mk('graph')];
    for (const B of [2, 3]) {
      const S = 10;
      const tb: TaskBatch = {
        size: B,
        seqLength: S,
        inputIds: Int32Array.from({ length: B * S }, (_, i) => 2 + ((i * 7) % 30)),
        tokenTypeIds: new Int32Array(B * S),
        attentionMask: Int32Array.from({ length: B * S }, (_, i) => (i % S < S - (i / S | 0) ? 1 : 0)),
        targets: Int32Array.from({ length: B }, (_, i) => i % 3),
      };
      const [x, y] = [await a.predict(tb), await b.predict(tb)];
      expectClose(Array.from(x), Array.from(y), `batch ${B}`);
    }
    expect(notices).toEqual([]);
    a.dispose();
    b.dispose();
  });
});

