// The general graph engine of the training step (core/graph-step.ts) against the eager engine
// (core/step.ts), in the same process: for randomly drawn tiny DSL models × every objective
// (clm, mlm, classify, regress, token-classify), with dropout, AdamW (bias-corrected) or LAMB,
// one or two micro-batches and two batch shapes, both engines give the same loss, gradient norm
// and parameters within 1e-5 relative over 6 steps. Plus: one trace per shape, a flat live
// tensor count and RSS, and the eager fallback with one notice line.
import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { init, unwrap, type Node } from '@lamina/dsl';
import { albertForPretraining, albertForTask, gpt2LMHeadModel, tinyConfig, tinyGpt2Config } from '@lamina/albert';
import { eagerStep, float32, int32, readStepMetrics, type Feed, type HostTensor, type TrainState } from '../src/core/step.js';
import { graphStep, PER_PARAMETER_UPDATE_FROM, updatesPerParameter, type UpdatePlacement } from '../src/core/graph-step.js';
import { createOptimizer, type OptimizerKind } from '../src/optim/optimizer.js';
import { prepareModel } from '../src/run/train.js';
import type { ObjectiveName } from '../src/objectives/index.js';

const TOL = 1e-5;
const relClose = (a: number, b: number): boolean => Math.abs(a - b) <= TOL * Math.max(1, Math.abs(a), Math.abs(b));

interface Case {
  readonly objective: ObjectiveName;
  readonly hidden: number;
  readonly heads: number;
  readonly layers: number;
  readonly dropout: number;
  readonly optimizer: OptimizerKind;
  readonly micro: 1 | 2;
  readonly seed: number;
}

const V = 23;
const C = 3;
const modelOf = (c: Case, S: number): Node => {
  if (c.objective === 'clm') return gpt2LMHeadModel(tinyGpt2Config({ vocabSize: V, maxPositions: S, hiddenSize: c.hidden, numHeads: c.heads, numLayers: c.layers, innerSize: 2 * c.hidden, residDropout: c.dropout, embdDropout: c.dropout, attnDropout: c.dropout }));
  const cfg = tinyConfig({ vocabSize: V, hiddenSize: c.hidden, embeddingSize: 8, intermediateSize: 2 * c.hidden, numAttentionHeads: c.heads, numHiddenLayers: c.layers, maxPositionEmbeddings: S, hiddenDropoutProb: c.dropout, attentionProbsDropoutProb: c.dropout, ...(c.seed % 2 ? { sharing: 'none' as const } : {}) });
  if (c.objective === 'mlm') return albertForPretraining(cfg, { objective: 'none', mlmPositions: 'all' });
  if (c.objective === 'token-classify') return albertForTask(cfg, 'token-classification', C);
  return albertForTask(cfg, 'sequence-classification', c.objective === 'regress' ? 1 : C);
};

/** A deterministic feed of the objective's shape (`salt` varies the values). */
const feedOf = (o: ObjectiveName, B: number, S: number, salt: number): Feed => {
  const n = B * S;
  const ids = int32([B, S], Array.from({ length: n }, (_, i) => 1 + ((i * 7 + salt * 5) % (V - 1))));
  const mask = int32([B, S], Array.from({ length: n }, (_, i) => (i % S < S - ((i / S) | 0) % 2 ? 1 : 0)));
  const types = int32([B, S], Array.from({ length: n }, (_, i) => (i % S >= S / 2 ? 1 : 0)));
  const w = float32([B, S], Array.from(mask.data, (m, i) => (m && (o !== 'mlm' || (i + salt) % 3 === 0) ? 1 : 0)));
  const tok = int32([B, S], Array.from({ length: n }, (_, i) => (i * 3 + salt) % (o === 'token-classify' ? C : V)));
  const inputs = { input_ids: ids, attention_mask: mask, ...(o === 'clm' ? {} : { token_type_ids: types }), ...(o === 'mlm' ? { masked_lm_positions: int32([B, 2], Array.from({ length: 2 * B }, (_, i) => i % S)) } : {}) };
  const targets: Record<string, HostTensor> =
    o === 'clm' || o === 'token-classify'
      ? { labels: tok, weights: w }
      : o === 'mlm'
        ? { mlm_labels: int32([n], tok.data), mlm_weights: float32([n], w.data) }
        : o === 'classify'
          ? { labels: int32([B], Array.from({ length: B }, (_, i) => (i + salt) % C)) }
          : { labels: float32([B], Array.from({ length: B }, (_, i) => Math.sin(i + salt))) };
  return { inputs, targets, tokens: n };
};

const setUp = (c: Case, S: number) => {
  const node = modelOf(c, S);
  const { forward, objective } = unwrap(
    E.mapLeft((m: string) => new Error(m))(prepareModel(node, { objective: c.objective, batchSize: 2, data: { seqLength: S } as never }, { vocabSize: V, numLabels: c.objective === 'regress' ? 1 : C })),
  );
  const mk = (): TrainState => ({ params: unwrap(init(node, c.seed)) as Record<string, tf.Variable>, optimizer: unwrap(createOptimizer(c.optimizer, { biasCorrection: c.seed % 3 !== 0 })) });
  return { forward, objective, mk };
};

const maxRelDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.div(tf.max(tf.abs(tf.sub(a, b))), tf.maximum(tf.max(tf.abs(a)), 1)).dataSync()[0] as number);

const compare = async (c: Case, steps: number, update: UpdatePlacement = 'auto'): Promise<void> => {
  const S = 6;
  const { forward, objective, mk } = setUp(c, S);
  const spec = { forward, objective, clipNorm: c.seed % 2 ? 1 : 0.05, seed: c.seed };
  const notices: string[] = [];
  const ge = graphStep({ ...spec, update, onNotice: (l) => notices.push(l) });
  const ee = eagerStep(spec);
  const a = mk();
  const b = mk();
  for (let s = 0; s < steps; s++) {
    const B = s % 3 === 2 ? 3 : 2;
    const micro = Array.from({ length: c.micro }, (_, i) => feedOf(c.objective, B, S, s * 2 + i));
    const ctx = { lr: 1e-2 * (1 - s / (2 * steps)), step: s };
    const ma = ee(a, micro, ctx);
    const mb = ge(b, micro, ctx);
    const [va, vb] = [await readStepMetrics(ma), await readStepMetrics(mb)];
    ma.dispose();
    mb.dispose();
    expect(Object.keys(vb)).toEqual(Object.keys(va));
    for (const k of Object.keys(va)) expect(relClose(va[k]!, vb[k]!), `${JSON.stringify(c)} step ${s} ${k}: eager ${va[k]} graph ${vb[k]}`).toBe(true);
  }
  if (update === 'per-parameter') {
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^graph step: [\d,]+ parameters: the optimizer update runs per parameter after the step's function/);
  } else expect(notices).toEqual([]);
  expect(ge.engine()).toBe('graph');
  // two batch shapes (in the function, step 0 runs eager: it creates the moments; per parameter, the eager optimizer creates them)
  expect(ge.tracedFunctions()).toBe(2);
  for (const k of Object.keys(a.params)) expect(maxRelDiff(a.params[k]!, b.params[k]!), k).toBeLessThanOrEqual(TOL);
  const [sa, sb] = [a.optimizer.state(), b.optimizer.state()];
  expect(Object.keys(sb).sort()).toEqual(Object.keys(sa).sort());
  for (const k of Object.keys(sa)) if (k !== 'global_step') expect(maxRelDiff(sa[k]!, sb[k]!), k).toBeLessThanOrEqual(TOL);
  expect(sb.global_step!.dataSync()[0]).toBe(steps);
  tf.dispose([...Object.values(sa), ...Object.values(sb), ...Object.values(a.params), ...Object.values(b.params)]);
  a.optimizer.dispose();
  b.optimizer.dispose();
};

const caseArb = (objective: ObjectiveName) =>
  fc.record({
    objective: fc.constant(objective),
    hidden: fc.constantFrom(8, 12, 16),
    heads: fc.constantFrom(1, 2, 4),
    layers: fc.integer({ min: 1, max: 2 }),
    dropout: fc.constantFrom(0, 0.1, 0.3),
    optimizer: fc.constantFrom<OptimizerKind>('adamw', 'lamb'),
    micro: fc.constantFrom<1 | 2>(1, 2),
    seed: fc.integer({ min: 0, max: 1000 }),
  });

describe('graphStep (general graph engine) against eagerStep', () => {
  for (const o of ['clm', 'mlm', 'classify', 'regress', 'token-classify'] as const)
    it(`${o}: same losses, gradient norms, parameters and moments over 6 steps (random tiny models)`, async () => {
      await fc.assert(fc.asyncProperty(caseArb(o).filter((c) => c.hidden % c.heads === 0), (c) => compare(c, 6)), { numRuns: 2, seed: 12 });
    });

  for (const o of ['clm', 'mlm', 'classify'] as const)
    it(`${o}, the update per parameter after the function: same losses, gradient norms, parameters and moments over 6 steps`, async () => {
      await fc.assert(fc.asyncProperty(caseArb(o).filter((c) => c.hidden % c.heads === 0), (c) => compare(c, 6, 'per-parameter')), { numRuns: 2, seed: 21 });
    });

  it('auto runs the update in the function below PER_PARAMETER_UPDATE_FROM parameter elements, per parameter from there', () => {
    expect(updatesPerParameter('auto', PER_PARAMETER_UPDATE_FROM - 1)).toBe(false);
    expect(updatesPerParameter('auto', PER_PARAMETER_UPDATE_FROM)).toBe(true);
    expect(updatesPerParameter('in-graph', 1e12)).toBe(false);
    expect(updatesPerParameter('per-parameter', 1)).toBe(true);
  });

  it('keeps the live tensor count flat and the RSS within 64 MB over 200 graph steps', async () => {
    const c: Case = { objective: 'classify', hidden: 8, heads: 2, layers: 1, dropout: 0.1, optimizer: 'adamw', micro: 1, seed: 4 };
    const { forward, objective, mk } = setUp(c, 6);
    const step = graphStep({ forward, objective, clipNorm: 1, seed: 1, onNotice: () => {} });
    const st = mk();
    const feed = feedOf('classify', 2, 6, 0);
    const run = async (n: number, from: number) => {
      for (let s = from; s < from + n; s++) {
        const m = step(st, [feed], { lr: 1e-3, step: s });
        await readStepMetrics(m);
        m.dispose();
      }
    };
    await run(20, 0);
    const before = tf.memory().numTensors;
    const rss0 = process.memoryUsage().rss;
    await run(200, 20);
    expect(tf.memory().numTensors).toBe(before);
    // a leak of the step's inputs or outputs (~1 KB each) or of one traced function per step would
    // pass this bound only if under 300 KB per step; native buffers show here, not in numTensors
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 2 ** 20);
    expect(step.tracedFunctions()).toBe(1);
    tf.dispose(Object.values(st.params));
    st.optimizer.dispose();
  });

  it('falls back to eager with one notice line when the model cannot be traced (a host read inside)', async () => {
    const c: Case = { objective: 'regress', hidden: 8, heads: 2, layers: 1, dropout: 0, optimizer: 'adamw', micro: 1, seed: 4 };
    const { forward, objective, mk } = setUp(c, 6);
    // a forward that reads a value on the host: its result could steer the computation
    const reading: typeof forward = ((ps, inputs, run) => {
      const out = forward(ps, inputs, run);
      (Object.values(ps)[0] as tf.Tensor).dataSync();
      return out;
    }) as typeof forward;
    const notices: string[] = [];
    const step = graphStep({ forward: reading, objective, clipNorm: 1, seed: 1, onNotice: (l) => notices.push(l) });
    const st = mk();
    for (let s = 0; s < 3; s++) step(st, [feedOf('regress', 2, 6, s)], { lr: 1e-3, step: s }).dispose();
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^graph step: cannot compile this step to one graph \(.*host.*\); running eager$/);
    expect(step.engine()).toBe('eager');
    expect(st.optimizer.stepCount()).toBe(3);
    tf.dispose(Object.values(st.params));
    st.optimizer.dispose();
  });
});
