// Fine-tuning end to end on tiny dims: starts from a checkpoint (Hugging Face directory or lamina
// run directory), learns an easy separable task, writes a reloadable output directory, and keeps
// the number of live tensors constant across steps.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { init, type RawTensor } from '@lamina/dsl';
import { albertForPretraining, tinyConfig, writeHfDirectory, type AlbertConfig } from '@lamina/albert';
import { paramsToRaw, saveCheckpoint } from '../src/checkpoint.js';
import { createTaskTrainer } from '../src/finetune/model.js';
import { encodeExamples, sliceBatch } from '../src/finetune/encode.js';
import { resolveExamples } from '../src/finetune/data.js';
import { evaluateTask, finetuneConfig, readFinetuneConfig, runFinetune, type FinetuneConfig } from '../src/finetune/run.js';
import { defaultTokenizer } from '@lamina/albert';

// the committed 10k vocabulary, so the default tokenizer fits
const config: AlbertConfig = tinyConfig({ vocabSize: 10000, embeddingSize: 8, hiddenSize: 32, intermediateSize: 48, numAttentionHeads: 4, maxPositionEmbeddings: 32 });

const ok = <A>(r: E.Either<{ message: string } | string, A>): A => {
  if (E.isLeft(r)) throw new Error(typeof r.left === 'string' ? r.left : r.left.message);
  return r.right;
};

/** Parameters of the pretraining model (encoder, pooler, MLM and SOP heads) as host tensors. */
const pretrainingParams = (seed: number): Record<string, RawTensor> => {
  const ps = ok(init(albertForPretraining(config), seed));
  const raw = ok(paramsToRaw(ps));
  Object.values(ps).forEach((v) => v.dispose());
  return raw;
};

/** Label = whether the sentence mentions a whale: separable by one token. */
const WORDS = 'the a cat dog house tree river blue green small large runs sleeps jumps over under near far quickly slowly'.split(' ');
const keywordData = (n: number, seed: number): string => {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const ws = Array.from({ length: 4 + Math.floor(rnd() * 6) }, () => WORDS[Math.floor(rnd() * WORDS.length)] as string);
    const yes = i % 2 === 0;
    if (yes) ws.splice(Math.floor(rnd() * ws.length), 0, 'whale');
    lines.push(JSON.stringify({ text: ws.join(' '), label: yes ? 'whale' : 'none' }));
  }
  return `${lines.join('\n')}\n`;
};

let dir: string;
let hfDir: string;
let runDir: string;
let trainFile: string;
let devFile: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-ft-'));
  hfDir = path.join(dir, 'hf');
  ok(await writeHfDirectory(hfDir, config, 'AlbertForPreTraining', pretrainingParams(1)));
  // a lamina pretraining run directory: config.json + one checkpoint
  runDir = path.join(dir, 'run');
  fs.mkdirSync(runDir);
  fs.writeFileSync(
    path.join(runDir, 'config.json'),
    JSON.stringify({ kind: 'lamina-pretraining-run', model: config, modelSource: 'test', data: { objective: 'sop', seqLength: 32 }, steps: 1, seed: 2 }),
  );
  const vars = Object.fromEntries(Object.entries(pretrainingParams(2)).map(([k, r]) => [k, tf.tensor(r.data, [...r.shape], r.dtype)]));
  ok(await saveCheckpoint(runDir, { step: 1, params: vars, optimizer: {}, rng: null, dataCursor: null, configHash: 'test' }));
  Object.values(vars).forEach((v) => v.dispose());
  trainFile = path.join(dir, 'train.jsonl');
  devFile = path.join(dir, 'dev.jsonl');
  fs.writeFileSync(trainFile, keywordData(192, 1));
  fs.writeFileSync(devFile, keywordData(64, 2));
});

const tinyRun = (over: Partial<FinetuneConfig> & { out: string }): FinetuneConfig =>
  finetuneConfig({ checkpoint: hfDir, train: trainFile, eval: devFile, epochs: 8, batchSize: 16, lr: 2e-3, seqLength: 16, dropout: 0, evalEvery: 0, seed: 7, ...over });

describe('runFinetune', () => {
  it('learns a keyword task from a Hugging Face checkpoint and writes a reloadable directory', async () => {
    const out = path.join(dir, 'ft-hf');
    const s = ok(await runFinetune(tinyRun({ out }), { progressMode: 'quiet' }));
    expect(s.labels).toEqual(['none', 'whale']);
    expect(s.steps).toBe(8 * 12);
    expect(s.load.initialised).toEqual(['classifier.kernel', 'classifier.bias']);
    expect(s.load.loaded.length).toBeGreaterThan(10);
    expect(s.load.ignored.some((k) => k.startsWith('mlm.'))).toBe(true);
    expect(s.initialMetrics.kind).toBe('classification');
    const fin = s.finalMetrics;
    if (fin.kind !== 'classification') throw new Error('expected classification');
    expect(fin.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(fin.loss).toBeLessThan(s.initialMetrics.loss);
    for (const f of ['finetune.json', 'eval.json', 'metrics.jsonl', 'curves.svg', 'tokenizer.json']) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    const stored = ok(readFinetuneConfig(out));
    expect(stored.labels).toEqual(['none', 'whale']);
    expect(stored.config.warmup).toBe(Math.round(s.steps / 10));
    const evalJson = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8')) as { final: { accuracy: number }; initial: unknown };
    expect(evalJson.final.accuracy).toBe(fin.accuracy);
    // reload and score the same file: the same metrics
    const e = ok(await evaluateTask(out, devFile));
    expect(e.metrics.kind).toBe('classification');
    if (e.metrics.kind === 'classification') {
      expect(e.metrics.accuracy).toBe(fin.accuracy);
      expect(e.metrics.loss).toBeCloseTo(fin.loss, 5);
    }
    // a second run into the same directory is refused unless --overwrite
    const again = await runFinetune(tinyRun({ out, epochs: 1 }), { progressMode: 'quiet' });
    expect(E.isLeft(again) && again.left.code).toBe(2);
  });

  it('starts from a lamina pretraining run directory; regression on numeric labels', async () => {
    const reg = path.join(dir, 'reg.tsv');
    const rows = Array.from({ length: 64 }, (_, i) => `${WORDS.slice(0, 1 + (i % 8)).join(' ')}\t${(i % 8) / 2}`);
    fs.writeFileSync(reg, `text\tlabel\n${rows.join('\n')}\n`);
    const out = path.join(dir, 'ft-reg');
    const s = ok(await runFinetune(tinyRun({ checkpoint: runDir, out, task: 'regress', train: reg, eval: reg, epochs: 10, lr: 3e-3 }), { progressMode: 'quiet' }));
    expect(s.labels).toEqual([]);
    expect(s.load.initialised).toEqual(['classifier.kernel', 'classifier.bias']);
    const [a, b] = [s.initialMetrics, s.finalMetrics];
    if (a.kind !== 'regression' || b.kind !== 'regression') throw new Error('expected regression');
    expect(b.mse).toBeLessThan(a.mse / 2);
    expect(b.pearson).toBeGreaterThan(0.8);
    const e = ok(await evaluateTask(out, reg, { maxExamples: 16 }));
    expect(e.metrics.count).toBe(16);
  });

  it('bad input is a Left with code 2 and one line', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(bad, '{"text":"a whale","label":"whale"}\n{"text":"b","label":"maybe"}\n');
    const r = await runFinetune(tinyRun({ out: path.join(dir, 'ft-bad'), eval: bad }), { progressMode: 'quiet' });
    expect(r).toEqual(E.left({ message: `${bad}:2: label "maybe" is not one of the training labels ("none", "whale")`, code: 2 }));
    const r2 = await runFinetune(tinyRun({ out: path.join(dir, 'ft-bad'), seqLength: 64 }), { progressMode: 'quiet' });
    expect(E.isLeft(r2) && r2.left.message).toMatch(/exceeds the model's maxPositionEmbeddings \(32\)/);
    const r3 = await evaluateTask(hfDir, devFile);
    expect(E.isLeft(r3) && r3.left.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'ft-bad'))).toBe(false);
  });
});

describe('createTaskTrainer', () => {
  it('keeps the number of live tensors constant across steps and evaluations', async () => {
    const tok = ok(E.mapLeft((e: { message: string }) => e.message)(defaultTokenizer()));
    const ex = ok(resolveExamples(
      Array.from({ length: 8 }, (_, i) => ({ text: `the whale number ${i}`, label: String(i % 3), line: i + 1 })),
      'classify',
      ['0', '1', '2'],
      'x',
    ));
    const enc = encodeExamples(tok, ex, 16);
    const t = ok(createTaskTrainer({ config: { ...config, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1 }, kind: 'classify', numLabels: 3, optimizer: 'adamw', seed: 1, initialParams: pretrainingParams(3) }));
    const counts: number[] = [];
    for (let s = 0; s < 6; s++) {
      const r = t.trainStep(sliceBatch(enc, [s % 8, (s + 3) % 8, (s + 5) % 8]), 1e-3, s);
      expect(Number.isFinite((await r.loss.data())[0] as number)).toBe(true);
      r.dispose();
      const logits = await t.predict(sliceBatch(enc, [0, 1]));
      expect(logits).toHaveLength(2 * 3);
      counts.push(tf.memory().numTensors);
    }
    // the optimizer creates its moments on the first step
    expect(new Set(counts.slice(1)).size).toBe(1);
    t.dispose();
  });

  it('a checkpoint tensor of the wrong shape is an error naming it', () => {
    const ps = pretrainingParams(4);
    const k = 'pooler.kernel';
    const wrong = { ...ps, [k]: { dtype: 'float32' as const, shape: [2, 2], data: new Float32Array(4) } };
    const r = createTaskTrainer({ config, kind: 'classify', numLabels: 2, optimizer: 'adamw', seed: 1, initialParams: wrong });
    expect(E.isLeft(r) && r.left).toMatch(/pooler\.kernel has shape \[2, 2\] in the checkpoint, the task model expects \[32, 32\]/);
  });
});
