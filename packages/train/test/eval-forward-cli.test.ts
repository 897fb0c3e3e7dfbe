// `lamina eval` and `lamina forward` read `lamina train` run directories, and `forward` reads a
// Hugging Face GPT-2 directory (config.json + model.safetensors) and writes {"logits": …}.
// `lamina eval` builds no optimizer.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { compile, paramSpecs, type RawTensor } from '@lamina/dsl';
import { gpt2LMHeadModel, tinyGpt2Config, writeGpt2HfDirectory } from '@lamina/albert';
import { runCli } from './helpers/in-process.js';

const created = vi.hoisted(() => ({ optimizers: 0 }));
vi.mock('../src/optim/optimizer.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../src/optim/optimizer.js')>();
  return { ...m, createOptimizer: (...a: Parameters<typeof m.createOptimizer>) => ((created.optimizers += 1), m.createOptimizer(...a)) };
});

let dir: string;
const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const MODEL = `import { seq, named, embedding, positionalEmbedding, layerNorm, multiHeadAttention, residual, dense } from '@lamina/dsl';
export default ({ vocabSize }: { vocabSize: number }) =>
  seq(named('wte', embedding(vocabSize, 16)), named('wpe', positionalEmbedding(24, 16)),
    residual(seq(named('ln', layerNorm(16)), named('attn', multiHeadAttention(16, 2, { causal: true })))),
    named('head', dense(16, vocabSize)));
`;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-eval-forward-'));
});

describe('lamina eval / forward on lamina train runs and GPT-2 directories', { timeout: 600_000 }, () => {
  it('eval gives the run’s held-out metrics without an optimizer; forward writes its logits, and a model file’s (freshly initialised)', async () => {
    const words = ['sea', 'ship', 'whale', 'harbour', 'captain', 'storm'];
    const corpus = write('c.txt', Array.from({ length: 30 }, (_, i) => Array.from({ length: 6 }, (_, j) => `The ${words[(i + j) % 6]} met the ${words[(i * 5 + j) % 6]}.`).join(' ')).join('\n\n'));
    const run = path.join(dir, 'run');
    const t = await runCli(['train', '--model', write('m.ts', MODEL), '--objective', 'clm', '--corpus', corpus, '--out', run, '--steps', '4', '--batch-size', '4', '--seq-len', '16', '--eval-batches', '2', '--eval-fraction', '0.2', '--quiet']);
    expect(t.status, t.stderr).toBe(0);
    const before = created.optimizers;
    expect(before).toBeGreaterThan(0);
    const e = await runCli(['eval', '--checkpoint', run, '--json']);
    expect(e.status, e.stderr).toBe(0);
    expect(created.optimizers).toBe(before);
    const j = JSON.parse(e.stdout) as Record<string, number>;
    expect(j.step).toBe(4);
    // the same weights, data and code in this process as the run's final evaluation
    const last = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((r) => r['eval/loss'] !== undefined).at(-1) as Record<string, number>;
    expect(Math.abs((j.loss as number) - (last['eval/loss'] as number))).toBeLessThan(1e-5);
    expect(j.accuracy).toBeGreaterThanOrEqual(0);
    const bad = await runCli(['eval', '--checkpoint', run, '--corpus', corpus]);
    expect(bad.status).toBe(2);
    expect(bad.errLines).toHaveLength(1);
    // the graph path by default, named in one stderr line; --eager gives the same metrics op by op
    expect(e.stderr).toMatch(/^eval engine: graph \(/m);
    const eager = await runCli(['eval', '--checkpoint', run, '--json', '--eager']);
    expect(eager.status, eager.stderr).toBe(0);
    expect(eager.stderr).toMatch(/^eval engine: eager /m);
    const je = JSON.parse(eager.stdout) as Record<string, number>;
    for (const k of ['loss', 'accuracy', 'perplexity']) expect(Math.abs((je[k] as number) - (j[k] as number)), k).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(j[k] as number)));
    // --model: the model file as initialised, through a train run's eval: the run's step-0 eval (same flags and seed)
    const first = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).find((r) => r['eval/loss'] !== undefined) as Record<string, number>;
    expect(first.step).toBe(0);
    const base = await runCli(['eval', '--model', path.join(dir, 'm.ts'), '--objective', 'clm', '--corpus', corpus, '--batch-size', '4', '--seq-len', '16', '--batches', '2', '--eval-fraction', '0.2', '--json']);
    expect(base.status, base.stderr).toBe(0);
    const jb = JSON.parse(base.stdout) as Record<string, number>;
    expect(jb.initialised).toBe(true);
    expect(Math.abs((jb.loss as number) - (first['eval/loss'] as number))).toBeLessThanOrEqual(1e-5 * Math.max(1, first['eval/loss'] as number));
    const noObjective = await runCli(['eval', '--model', path.join(dir, 'm.ts')]);
    expect([noObjective.status, noObjective.errLines]).toEqual([2, [expect.stringMatching(/--model needs --objective/)]]);
    const stray = await runCli(['eval', '--checkpoint', run, '--objective', 'clm']);
    expect([stray.status, stray.errLines.length]).toEqual([2, 1]);

    const input = write('in.json', JSON.stringify({ input_ids: [[5, 6, 7, 8], [9, 10, 11, 12]], attention_mask: [[1, 1, 1, 1], [1, 1, 1, 0]] }));
    const out = path.join(dir, 'out.json');
    const f = await runCli(['forward', '--checkpoint', run, '--input', input, '--output', out]);
    expect(f.status, f.stderr).toBe(0);
    const logits = (JSON.parse(fs.readFileSync(out, 'utf8')) as { logits: number[][][] }).logits;
    expect([logits.length, logits[0]?.length, (logits[0]?.[0]?.length ?? 0) > 100]).toEqual([2, 4, true]);
    // the model file itself, freshly initialised: the same output names and shapes
    const freshOut = path.join(dir, 'fresh.json');
    const fresh = await runCli(['forward', '--model', path.join(dir, 'm.ts'), '--input', input, '--seed', '3', '--output', freshOut]);
    expect(fresh.status, fresh.stderr).toBe(0);
    const fl = (JSON.parse(fs.readFileSync(freshOut, 'utf8')) as { logits: number[][][] }).logits;
    expect([fl.length, fl[0]?.length, fl[0]?.[0]?.length]).toEqual([2, 4, logits[0]?.[0]?.length]);
    const both = await runCli(['forward', '--model', path.join(dir, 'm.ts'), '--checkpoint', run, '--input', input]);
    expect(both.status).toBe(2);
    expect(both.errLines).toHaveLength(1);
    const long = write('long.json', JSON.stringify({ input_ids: [Array.from({ length: 30 }, () => 5)] }));
    const l = await runCli(['forward', '--checkpoint', run, '--input', long]);
    expect(l.status).toBe(2);
    expect(l.errLines).toEqual([expect.stringMatching(/sequences of 30 tokens exceed the model's max_position_embeddings \(24\)$/)]);
  });

  it('forward on a Hugging Face GPT-2 directory writes {"logits": …} equal to the model’s own', async () => {
    const c = tinyGpt2Config({ vocabSize: 37, maxPositions: 12, hiddenSize: 16, numLayers: 2, numHeads: 2, innerSize: 32, bosTokenId: 0, eosTokenId: 0 });
    const model = gpt2LMHeadModel(c);
    const specs = paramSpecs(model);
    if (E.isLeft(specs)) throw new Error(specs.left.message);
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31), s / 2 ** 31 - 0.5);
    const params: Record<string, RawTensor> = Object.fromEntries(
      specs.right.map((p) => [p.path, { dtype: 'float32', shape: [...p.shape], data: Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => 0.2 * rnd()) } as RawTensor]),
    );
    const hf = path.join(dir, 'gpt2-tiny');
    const w = await writeGpt2HfDirectory(hf, c, params);
    expect(E.isRight(w)).toBe(true);
    const ids = [[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]];
    const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]];
    const input = write('gpt2-in.json', JSON.stringify({ input_ids: ids, attention_mask: mask }));
    const out = path.join(dir, 'gpt2-out.json');
    const r = await runCli(['forward', '--checkpoint', hf, '--input', input, '--output', out]);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, number[][][]>;
    expect(Object.keys(got)).toEqual(['logits']);
    const fn = compile(model, { input: 'input_ids' });
    if (E.isLeft(fn)) throw new Error(fn.left.message);
    const want = tf.tidy(() => {
      const ps = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tf.tensor(v.data, [...v.shape], 'float32')]));
      const o = fn.right(ps, { input_ids: tf.tensor2d(ids, undefined, 'int32'), attention_mask: tf.tensor2d(mask, undefined, 'int32') }, { training: false }) as Record<string, tf.Tensor>;
      return (o.logits as tf.Tensor).arraySync() as number[][][];
    });
    expect([got.logits?.length, got.logits?.[0]?.length, got.logits?.[0]?.[0]?.length]).toEqual([2, 5, 37]);
    let maxDiff = 0;
    for (let b = 0; b < 2; b++) for (let t = 0; t < 5; t++) if ((mask[b] as number[])[t]) for (let v = 0; v < 37; v++) maxDiff = Math.max(maxDiff, Math.abs((got.logits as number[][][])[b]![t]![v]! - want[b]![t]![v]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // GPT-2 has no token types: a token_type_ids of 1 is refused in one line
    const typed = write('gpt2-typed.json', JSON.stringify({ input_ids: [[1, 2]], token_type_ids: [[0, 1]] }));
    const bad = await runCli(['forward', '--checkpoint', hf, '--input', typed]);
    expect(bad.status).toBe(2);
    expect(bad.errLines).toEqual([expect.stringMatching(/"token_type_ids" values must be in 0\.\.0$/)]);
  });
});
