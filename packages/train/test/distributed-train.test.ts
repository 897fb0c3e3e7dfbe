// Data-parallel `lamina train` on a user's model file over loopback (127.0.0.1 only), graph engine
// (the all-reduce inside the traced step): 2 workers × shares of batch 8 follow 1 process × batch 8
// (losses and parameters within 1e-5 over 10 steps), and the sharded held-out evaluation (each
// worker its share of the batches, gathered exactly) gives one process's figures; task 0 alone
// writes metrics (no `allreduce_seconds` on a graph step, a probe every 10 steps), and its progress
// names the cluster and reports the cluster's tokens/s. The same for `lamina finetune` (a tiny
// ALBERT checkpoint, classify, 10 steps, evaluations included), and for the graph step of
// `lamina pretrain`: 2 workers = 1 process running the traced step (5 steps).
// A worker's share of any feed (flattened [B·k] targets included) is tested in-process.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { init } from '@lamina/dsl';
import { albertForPretraining, tinyConfig, writeHfDirectory } from '@lamina/albert';
import type { RawTensor } from '@lamina/dsl';
import { latestCheckpoint, loadCheckpoint, paramsToRaw } from '../src/checkpoint.js';
import { int32, float32, type Feed } from '../src/core/step.js';
import { shareFeed } from '../src/distributed/worker.js';
import { cli, losses, tinyWorkspace } from './helpers/tiny-run.js';

const env = { TF_CPP_MIN_LOG_LEVEL: '3' };
const STEPS = 10;
const MODEL = `import { seq, residual, named, dense, embedding, positionalEmbedding, layerNorm, multiHeadAttention } from '@lamina/dsl';

const D = 16;
export default ({ vocabSize }: { vocabSize: number }) =>
  seq(
    named('wte', embedding(vocabSize, D)),
    named('wpe', positionalEmbedding(16, D)),
    residual(seq(named('ln1', layerNorm(D, 1e-5)), named('attn', multiHeadAttention(D, 2, { causal: true })))),
    named('ln_f', layerNorm(D, 1e-5)),
    named('head', dense(D, vocabSize)),
  );
`;

const workspace = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-dp-train-'));
  const model = path.join(dir, 'tiny.ts');
  fs.writeFileSync(model, MODEL);
  const words = ['sea', 'ship', 'whale', 'harbour', 'captain', 'storm', 'island', 'night'];
  const doc = (i: number) => Array.from({ length: 8 }, (_, j) => `The ${words[(i + j) % 8]} and the ${words[(i * 3 + j) % 8]} met ${j + 1} times in chapter ${i}.`).join(' ');
  const corpus = path.join(dir, 'corpus.txt');
  fs.writeFileSync(corpus, Array.from({ length: 30 }, (_, i) => doc(i)).join('\n\n'));
  return { dir, model, corpus };
};

const trainArgs = (w: { model: string; corpus: string }, out: string) => [
  'train', '--model', w.model, '--objective', 'clm', '--corpus', w.corpus, '--out', out, '--steps', String(STEPS), '--batch-size', '8', '--seq-len', '16',
  '--lr', '0.003', '--warmup', '2', '--eval-every', '5', '--eval-batches', '3', '--eval-fraction', '0.1', '--seed', '7', '--checkpoint-every', '0',
  '--collective-timeout', '60',
];

const finalWeights = async (run: string, step = STEPS) => {
  const ck = await loadCheckpoint(path.join(run, 'checkpoints', `step-${String(step).padStart(6, '0')}`));
  if (E.isLeft(ck)) throw new Error(`${run}: ${ck.left.message}`);
  return ck.right.weights;
};

const worstDifference = (wa: Record<string, RawTensor>, wb: Record<string, RawTensor>): number => {
  expect(Object.keys(wb).sort()).toEqual(Object.keys(wa).sort());
  let worst = 0;
  for (const [k, t] of Object.entries(wa)) {
    const u = wb[k]?.data as Float32Array;
    (t.data as Float32Array).forEach((x, i) => (worst = Math.max(worst, Math.abs(x - (u[i] as number)))));
  }
  return worst;
};

/** The eval/* figures of a run's metrics.jsonl, by step. */
const evals = (run: string): Map<number, Record<string, number>> => {
  const m = new Map<number, Record<string, number>>();
  for (const l of fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!l.includes('eval/')) continue;
    const r = JSON.parse(l) as { step: number; values?: Record<string, number> } & Record<string, number>;
    const v = r.values ?? r;
    m.set(r.step, { ...(m.get(r.step) ?? {}), ...Object.fromEntries(Object.entries(v).filter(([k]) => k.startsWith('eval/'))) });
  }
  return m;
};

/** Same steps, same eval keys, figures within 1e-5 (the workers' processes run the same code on the same batches). */
const expectSameEvals = (a: Map<number, Record<string, number>>, b: Map<number, Record<string, number>>): void => {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [s, x] of a) {
    expect(Object.keys(b.get(s) ?? {}).sort(), `step ${s}`).toEqual(Object.keys(x).sort());
    for (const [k, v] of Object.entries(x)) expect(Math.abs(v - (b.get(s)?.[k] as number)), `step ${s} ${k}: ${v} vs ${b.get(s)?.[k]}`).toBeLessThan(1e-5);
  }
};

describe('shareFeed', () => {
  it('the workers’ shares of a feed are disjoint and, concatenated in task order, are the feed (any k rows per example)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), (B, workers, k) => {
        fc.pre(workers <= B);
        const ids = Array.from({ length: B * 3 }, (_, i) => i);
        const flat = Array.from({ length: B * k }, (_, i) => i / 2);
        const feed: Feed = { inputs: { input_ids: int32([B, 3], ids) }, targets: { labels: int32([B * k], flat.map((x) => x * 2)), weights: float32([B * k], flat) }, tokens: B * 3 };
        const shares = Array.from({ length: workers }, (_, t) => shareFeed(feed, workers, t));
        expect(shares.flatMap((s) => Array.from(s.inputs.input_ids?.data ?? []))).toEqual(ids);
        expect(shares.flatMap((s) => Array.from(s.targets.weights?.data ?? []))).toEqual(flat);
        expect(shares.reduce((a, s) => a + (s.inputs.input_ids?.shape[0] ?? 0), 0)).toBe(B);
        for (const s of shares) expect(s.targets.labels?.shape[0]).toBe((s.inputs.input_ids?.shape[0] ?? 0) * k);
      }),
    );
  });
});

describe('data-parallel lamina train over loopback', { timeout: 600_000 }, () => {
  it('a user model file, graph engine: 2 workers × shares of batch 8 = 1 process × batch 8 over 10 clm steps (losses, parameters, sharded evaluations); progress shows the cluster', async () => {
    const w = workspace();
    const single = path.join(w.dir, 'single');
    const one = cli([...trainArgs(w, single), '--json-logs'], env);
    expect(one.status, one.stderr).toBe(0);
    const two = path.join(w.dir, 'two');
    const r = cli([...trainArgs(w, two), '--workers', '2', '--json-logs'], env);
    expect(r.status, r.stderr).toBe(0);
    // both name the graph engine and neither fell back to eager
    for (const out of [one.stdout, r.stdout]) {
      expect(out).toContain('step engine: graph');
      expect(out).not.toContain('running eager');
    }
    // evaluations at steps 0, 5 and 10 (3 held-out batches: 2 on task 0, 1 on task 1) = one process's
    const ea = evals(single);
    expect([...ea.keys()]).toEqual([0, 5, 10]);
    expectSameEvals(ea, evals(two));

    const a = losses(single);
    const b = losses(two);
    for (let s = 1; s <= STEPS; s++) {
      expect(b.get(s), `step ${s} missing`).toBeTypeOf('number');
      expect(Math.abs((a.get(s) as number) - (b.get(s) as number)), `step ${s}: ${a.get(s)} vs ${b.get(s)}`).toBeLessThan(1e-5);
    }
    const [wa, wb] = await Promise.all([finalWeights(single), finalWeights(two)]);
    expect(worstDifference(wa, wb)).toBeLessThan(1e-5);

    // only task 0 writes: one record per step. Step 1 runs eager (it creates the optimizer's
    // moments): its all-reduce is timed. Later steps are graph steps: their all-reduce is inside the
    // function, so no allreduce_seconds; step 10 carries a probe of one all-reduce alone.
    const recs = fs.readFileSync(path.join(two, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"loss"') && !l.includes('eval/'));
    expect(recs).toHaveLength(STEPS);
    const vals = recs.map((l) => {
      const v = JSON.parse(l) as { values?: Record<string, number> } & Record<string, number>;
      return v.values ?? v;
    });
    expect(vals.every((x) => (x.step_seconds as number) > 0)).toBe(true);
    expect(vals[0]!.allreduce_seconds).toBeGreaterThan(0);
    for (const x of vals.slice(2)) expect(x.allreduce_seconds).toBeUndefined();
    expect(vals.slice(0, 9).every((x) => x.allreduce_probe_seconds === undefined)).toBe(true);
    expect(vals[9]!.allreduce_probe_seconds).toBeGreaterThan(0);
    // task 0's progress (the only one that reports): the cluster size and the whole cluster's tokens/s
    const steps = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event?: string; type?: string; label?: string; tokens_per_second?: number; step?: number }).filter((e) => typeof e.step === 'number' && 'tokens_per_second' in e);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((e) => e.label === '2 workers')).toBe(true);
    expect(steps.some((e) => (e.tokens_per_second ?? 0) > 0)).toBe(true);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });

  it('lamina finetune, graph engine: 2 workers × shares of batch 8 = 1 process × batch 8 over 10 classify steps (losses, parameters, sharded evaluations)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-dp-ft-'));
    const hf = path.join(dir, 'hf');
    const c = tinyConfig({ vocabSize: 10000, embeddingSize: 8, hiddenSize: 16, intermediateSize: 16, numAttentionHeads: 2, maxPositionEmbeddings: 16 });
    const ps = init(albertForPretraining(c), 1);
    if (E.isLeft(ps)) throw new Error(ps.left.message);
    const raw = paramsToRaw(ps.right);
    Object.values(ps.right).forEach((v) => v.dispose());
    if (E.isLeft(raw)) throw new Error(raw.left.message);
    const hfw = await writeHfDirectory(hf, c, 'AlbertForPreTraining', raw.right);
    if (E.isLeft(hfw)) throw new Error(hfw.left.message);
    const words = ['whale', 'ship', 'cat', 'storm', 'harbour', 'night', 'island', 'captain'];
    const data = path.join(dir, 'train.jsonl');
    fs.writeFileSync(data, Array.from({ length: 16 }, (_, i) => JSON.stringify({ text: `the ${words[i % 8]} and the ${words[(i * 3) % 8]} ${i}`, label: i % 3 === 0 ? 'yes' : 'no' })).join('\n') + '\n');
    const ft = (out: string) => ['finetune', '--checkpoint', hf, '--train', data, '--eval', data, '--out', out, '--seq-len', '16', '--batch-size', '8', '--epochs', '5',
      '--lr', '0.001', '--warmup', '1', '--dropout', '0', '--seed', '3', '--checkpoint-every', '0', '--eval-every', '5', '--eval-batch-size', '3', '--collective-timeout', '60', '--json-logs'];
    const single = path.join(dir, 'single');
    const one = cli(ft(single), env);
    expect(one.status, one.stderr).toBe(0);
    const two = path.join(dir, 'two');
    const r = cli([...ft(two), '--workers', '2'], env);
    expect(r.status, r.stderr).toBe(0);
    for (const out of [one.stdout, r.stdout]) {
      expect(out).toContain('step engine: graph');
      expect(out).not.toContain('running eager');
    }
    const a = losses(single);
    const b = losses(two);
    for (let s = 1; s <= 10; s++) {
      expect(b.get(s), `step ${s} missing`).toBeTypeOf('number');
      expect(Math.abs((a.get(s) as number) - (b.get(s) as number)), `step ${s}: ${a.get(s)} vs ${b.get(s)}`).toBeLessThan(1e-5);
    }
    expect(latestCheckpoint(two)?.dir).toMatch(/step-000010$/);
    expect(worstDifference(await finalWeights(single, 10), await finalWeights(two, 10))).toBeLessThan(1e-5);
    // evaluations at steps 0, 5 and 10 over 6 eval batches of 3 (3 per worker) = one process's, and eval.json too
    const ea = evals(single);
    expect([...ea.keys()]).toEqual([0, 5, 10]);
    expectSameEvals(ea, evals(two));
    const ja = JSON.parse(fs.readFileSync(path.join(single, 'eval.json'), 'utf8')) as { final: Record<string, number> };
    const jb = JSON.parse(fs.readFileSync(path.join(two, 'eval.json'), 'utf8')) as { final: Record<string, number> };
    for (const [k, x] of Object.entries(ja.final)) if (typeof x === 'number') expect(Math.abs(x - (jb.final[k] as number)), k).toBeLessThan(1e-5);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lamina pretrain, graph step: 2 workers (CollectiveReduceV2 inside the traced function) = 1 process (traced step), losses and parameters within 1e-5', async () => {
    const w = tinyWorkspace();
    const pt = (out: string) => ['pretrain', '--model', w.model, '--corpus', w.corpus, '--out', out, '--steps', '5', '--batch-size', '8', '--seq-len', '24',
      '--eval-every', '0', '--eval-batches', '1', '--eval-fraction', '0.2', '--lr', '0.01', '--warmup', '2', '--checkpoint-every', '0', '--collective-timeout', '60', '--json-logs'];
    const single = path.join(w.dir, 'single');
    const one = cli(pt(single), env);
    expect(one.status, one.stderr).toBe(0);
    const two = path.join(w.dir, 'two');
    const r = cli([...pt(two), '--workers', '2'], env);
    expect(r.status, r.stderr).toBe(0);
    // both name the graph engine and neither fell back to eager
    for (const out of [one.stdout, r.stdout]) {
      expect(out).toContain('step engine: graph');
      expect(out).not.toContain('running eager');
    }
    expect(r.stdout).toContain('2 workers');
    const a = losses(single);
    const b = losses(two);
    for (let s = 1; s <= 5; s++) expect(Math.abs((a.get(s) as number) - (b.get(s) as number)), `step ${s}: ${a.get(s)} vs ${b.get(s)}`).toBeLessThan(1e-5);
    expect(worstDifference(await finalWeights(single, 5), await finalWeights(two, 5))).toBeLessThan(1e-5);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });
});
