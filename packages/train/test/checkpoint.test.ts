import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import {
  assignParams,
  checkpointDirName,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  paramsToRaw,
  rawToParams,
  rawToTensors,
  saveCheckpoint,
  type CheckpointInput,
} from '../src/checkpoint.js';
import { createOptimizer, type Optimizer } from '../src/optim/index.js';
import { createRng, rngFromState } from '../src/rng.js';

const tmpRun = () => fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-ckpt-'));
const right = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const lamb = (): Optimizer => right(createOptimizer('lamb'));

const makeParams = (seed: number) => ({
  'enc.dense.kernel': tf.variable(tf.randomNormal([2, 3], 0, 1, 'float32', seed)),
  'enc.dense.bias': tf.variable(tf.zeros([3])),
  'enc.layer_norm.gamma': tf.variable(tf.ones([3])),
});
type P = ReturnType<typeof makeParams>;

const gradsFor = (i: number) => ({
  'enc.dense.kernel': tf.fill([2, 3], 0.1 * (i + 1)),
  'enc.dense.bias': tf.tensor1d([i, -i, 0.5]),
  'enc.layer_norm.gamma': tf.tensor1d([0.2, 0.1, -0.3 * i]),
});

const trainSteps = (params: P, opt: Optimizer, from: number, to: number) => {
  for (let i = from; i < to; i++) {
    const g = gradsFor(i);
    opt.step(params, g, 0.01);
    tf.dispose(Object.values(g));
  }
};

const input = (params: P, optimizer: Record<string, tf.Tensor>, step: number): CheckpointInput => ({
  step,
  params,
  optimizer,
  rng: createRng(7).state() as unknown as CheckpointInput['rng'],
  dataCursor: { epoch: 1, index: 42 },
  configHash: 'abc123',
  trainer: { bestLoss: 1.5, history: [1, 2] },
});

const saveAt = async (runDir: string, step: number, keepLast = 10) => {
  const params = makeParams(step);
  const opt = lamb();
  trainSteps(params, opt, 0, 2);
  const st = opt.state();
  const r = await saveCheckpoint(runDir, input(params, st, step), { keepLast });
  tf.dispose([...Object.values(st), ...Object.values(params)]);
  opt.dispose();
  return right(r);
};

describe('checkpoint round trip', () => {
  it('restores parameters, optimizer state and trainer state so training continues identically', async () => {
    const runDir = tmpRun();
    const pa = makeParams(1);
    const a = lamb();
    trainSteps(pa, a, 0, 3);
    const st = a.state();
    const saved = right(await saveCheckpoint(runDir, input(pa, st, 3)));
    tf.dispose(Object.values(st));
    expect(saved.dir).toBe(path.join(runDir, 'checkpoints', 'step-000003'));
    expect(fs.readdirSync(saved.dir).sort()).toEqual(['COMPLETE', 'optimizer.safetensors', 'state.json', 'weights.safetensors']);
    expect(latestCheckpoint(runDir)).toEqual({ dir: saved.dir, step: 3 });

    const loaded = right(await loadCheckpoint(saved.dir));
    expect(loaded.state).toEqual({ step: 3, rng: createRng(7).state(), dataCursor: { epoch: 1, index: 42 }, configHash: 'abc123', trainer: { bestLoss: 1.5, history: [1, 2] } });
    expect(right(rngFromState(loaded.state.rng)).nextUint32()).toBe(createRng(7).nextUint32());
    expect(Object.keys(loaded.optimizer).sort()).toEqual([
      'enc.dense.bias/adam_m',
      'enc.dense.bias/adam_v',
      'enc.dense.kernel/adam_m',
      'enc.dense.kernel/adam_v',
      'enc.layer_norm.gamma/adam_m',
      'enc.layer_norm.gamma/adam_v',
      'global_step',
    ]);

    const pb = makeParams(999); // different initial values, overwritten by the checkpoint
    right(assignParams(pb, loaded.weights));
    const b = lamb();
    const stTensors = rawToTensors(loaded.optimizer);
    right(b.loadState(stTensors, pb));
    tf.dispose(Object.values(stTensors));
    expect(b.stepCount()).toBe(3);
    trainSteps(pa, a, 3, 6);
    trainSteps(pb, b, 3, 6);
    for (const k of Object.keys(pa) as Array<keyof P>) expect(Array.from(pb[k].dataSync())).toEqual(Array.from(pa[k].dataSync()));

    const fresh = rawToParams(loaded.weights);
    expect(fresh['enc.dense.kernel']!.shape).toEqual([2, 3]);
    expect(fresh['enc.dense.kernel']!.trainable).toBe(true);
    tf.dispose([...Object.values(pa), ...Object.values(pb), ...Object.values(fresh)]);
    a.dispose();
    b.dispose();
  });

  it('replaces an existing checkpoint of the same step', async () => {
    const runDir = tmpRun();
    await saveAt(runDir, 5);
    const p = { w: tf.variable(tf.tensor1d([9, 9])) };
    const st = { global_step: tf.scalar(0, 'int32') };
    right(await saveCheckpoint(runDir, { step: 5, params: p, optimizer: st, rng: null, dataCursor: null, configHash: 'x' }));
    const loaded = right(await loadCheckpoint(path.join(runDir, 'checkpoints', 'step-000005')));
    expect(Object.keys(loaded.weights)).toEqual(['w']);
    expect(fs.readdirSync(path.join(runDir, 'checkpoints'))).toEqual(['step-000005']);
    tf.dispose([p.w, st.global_step]);
  });
});

describe('atomicity: a half-written checkpoint is never picked up', () => {
  it('ignores temp dirs, dirs without the marker, truncated files and unreadable state.json', async () => {
    const runDir = tmpRun();
    const good = await saveAt(runDir, 10);
    const root = path.join(runDir, 'checkpoints');
    // Real, complete checkpoints at later steps, each then damaged the way a crash or a bad disk would.
    for (const step of [20, 30, 40, 50, 60]) await saveAt(runDir, step);
    expect(latestCheckpoint(runDir)?.step).toBe(60); // all valid before the damage
    const dirOf = (step: number) => path.join(root, checkpointDirName(step));
    // A writer killed before its rename (all files present, even COMPLETE).
    fs.renameSync(dirOf(20), path.join(root, 'step-000020.tmp-12345'));
    // A directory without the COMPLETE marker.
    fs.rmSync(path.join(dirOf(30), 'COMPLETE'));
    // A truncated weights file.
    const truncated = dirOf(40);
    const wfile = path.join(truncated, 'weights.safetensors');
    fs.truncateSync(wfile, Math.floor(fs.statSync(wfile).size / 2));
    // An unreadable state.json (same size, so only parsing catches it).
    const badState = dirOf(50);
    const sfile = path.join(badState, 'state.json');
    fs.writeFileSync(sfile, '#'.repeat(fs.statSync(sfile).size));
    // A torn COMPLETE marker.
    fs.writeFileSync(path.join(dirOf(60), 'COMPLETE'), '{"step": 60, "fi');
    // Stray files and names that only look like checkpoints.
    fs.writeFileSync(path.join(root, 'step-000070'), 'not a directory');
    fs.cpSync(good.dir, path.join(root, 'step-80'), { recursive: true });
    fs.cpSync(good.dir, path.join(root, 'step-000090'), { recursive: true }); // complete, but of step 10

    expect(latestCheckpoint(runDir)).toEqual({ dir: good.dir, step: 10 });
    expect(listCheckpoints(runDir).map((c) => c.step)).toEqual([10]);

    const r = await loadCheckpoint(truncated);
    expect(E.isLeft(r) && r.left.message).toMatch(/step-000040 is damaged: weights\.safetensors has \d+ bytes, expected \d+$/);
    const s = await loadCheckpoint(badState);
    expect(E.isLeft(s) && s.left.message).toMatch(/step-000050 is damaged: state\.json does not match its recorded SHA-256$/);
    const n = await loadCheckpoint(dirOf(30));
    expect(E.isLeft(n) && n.left.message).toMatch(/step-000030 is not a complete checkpoint: cannot read .*COMPLETE/);
  });

  it('detects same-size corruption by hash when loading', async () => {
    const runDir = tmpRun();
    const good = await saveAt(runDir, 1);
    const wfile = path.join(good.dir, 'weights.safetensors');
    const bytes = fs.readFileSync(wfile);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    fs.writeFileSync(wfile, bytes);
    const r = await loadCheckpoint(good.dir);
    expect(E.isLeft(r) && r.left.message).toMatch(/weights\.safetensors does not match its recorded SHA-256$/);
  });

  it('returns a readable error and leaves nothing behind when the run directory is unusable', async () => {
    const parent = tmpRun();
    const notADir = path.join(parent, 'file');
    fs.writeFileSync(notADir, 'x');
    const p = { w: tf.variable(tf.tensor1d([1])) };
    const r = await saveCheckpoint(notADir, { step: 1, params: p, optimizer: {}, rng: null, dataCursor: null, configHash: '' });
    expect(E.isLeft(r) && r.left.message).toMatch(/^cannot write checkpoint .*step-000001: /);
    const bad = await saveCheckpoint(parent, { step: 1, params: { b: tf.tensor1d([1], 'bool') }, optimizer: {}, rng: null, dataCursor: null, configHash: '' });
    expect(E.isLeft(bad) && bad.left.message).toBe('tensor "b" has dtype bool; checkpoints hold float32 and int32 only');
    expect(latestCheckpoint(parent)).toBeUndefined();
    tf.dispose(p.w);
  });
});

describe('keep-last-K', () => {
  it('keeps only the newest K complete checkpoints and removes dead writers\' temp dirs', async () => {
    const runDir = tmpRun();
    const root = path.join(runDir, 'checkpoints');
    fs.mkdirSync(path.join(root, 'step-000099.tmp-4999999'), { recursive: true }); // pid above Linux's pid_max
    fs.mkdirSync(path.join(root, `step-000098.tmp-${process.pid}`), { recursive: true }); // a live writer: kept
    let last;
    for (const step of [100, 200, 300, 400, 1_000_000]) last = await saveAt(runDir, step, 2);
    expect(last!.removed.map((d) => path.basename(d))).toEqual(['step-000300']);
    expect(listCheckpoints(runDir).map((c) => c.step)).toEqual([400, 1_000_000]);
    expect(fs.readdirSync(root).sort()).toEqual([`step-000098.tmp-${process.pid}`, 'step-000400', 'step-1000000']);
    expect(checkpointDirName(1_000_000)).toBe('step-1000000');
    const k = await saveCheckpoint(runDir, input(makeParams(1), {}, 1), { keepLast: 0 });
    expect(E.isLeft(k) && k.left.message).toBe('keepLast must be an integer ≥ 1, got 0');
  });
});

describe('parameter conversion', () => {
  it('converts tensors to raw data and back, and checks names, shapes and dtypes on assign', () => {
    const params = { a: tf.variable(tf.tensor2d([[1, 2]])), n: tf.variable(tf.tensor1d([3], 'int32')) };
    const raw = right(paramsToRaw(params));
    expect(raw.a).toEqual({ dtype: 'float32', shape: [1, 2], data: new Float32Array([1, 2]) });
    expect(raw.n).toEqual({ dtype: 'int32', shape: [1], data: new Int32Array([3]) });
    const msg = (r: E.Either<{ message: string }, void>) => (E.isLeft(r) ? r.left.message : 'ok');
    expect(msg(assignParams(params, { a: { dtype: 'float32', shape: [2, 1], data: new Float32Array(2) }, extra: raw.a! }))).toBe(
      'checkpoint does not match the model: "a" has shape [2,1] in the checkpoint but [1,2] in the model; "n" is missing from the checkpoint; "extra" is in the checkpoint but not in the model',
    );
    expect(Array.from(params.a.dataSync())).toEqual([1, 2]); // unchanged after a failed assign
    expect(msg(assignParams(params, { ...raw, a: { dtype: 'float32', shape: [1, 2], data: new Float32Array([5, 6]) } }))).toBe('ok');
    expect(Array.from(params.a.dataSync())).toEqual([5, 6]);
    const before = tf.memory().numTensors;
    right(assignParams(params, raw));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(params));
  });
});
