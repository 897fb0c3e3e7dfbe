// Data-parallel pretraining on TensorFlow's collective runtime, over loopback (127.0.0.1 only):
// 2 workers × shares of batch 8 follow 1 process × batch 8; a worker killed with SIGKILL makes the
// other exit with one line naming it, and --resume on 2 workers continues the same trajectory; a
// worker whose resolved config differs from task 0's is refused at start-up. Every process a test
// starts is killed at the end of the test, whatever happened.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { loadCheckpoint } from '../src/checkpoint.js';
import { freePorts } from '../src/distributed/launch.js';
import { cli, laminaBin, losses, repo, tinyWorkspace } from './helpers/tiny-run.js';

const STEPS = 10;
const TIMEOUT = 20;

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** The flags of the tiny runs compared here: global batch 8, no dropout, a checkpoint every 2 steps. */
const args = (w: { model: string; corpus: string }, out: string): string[] => [
  'pretrain', '--model', w.model, '--corpus', w.corpus, '--out', out, '--steps', String(STEPS), '--batch-size', '8', '--seq-len', '24',
  '--eval-every', '0', '--eval-batches', '1', '--eval-fraction', '0.2', '--lr', '0.01', '--warmup', '2', '--checkpoint-every', '2',
  '--collective-timeout', String(TIMEOUT), '--quiet',
];

interface Worker {
  readonly child: ChildProcess;
  readonly exit: Promise<{ code: number | null; stderr: string }>;
}
const startWorker = (argv: readonly string[], env: Record<string, string> = {}): Worker => {
  const child = spawn(process.execPath, [laminaBin, ...argv], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  started.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return { child, exit };
};

const waitFor = async (cond: () => boolean, ms: number): Promise<boolean> => {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
};

const complete = (run: string, step: number) => fs.existsSync(path.join(run, 'checkpoints', `step-${String(step).padStart(6, '0')}`, 'COMPLETE'));

const expectSameLosses = (a: Map<number, number>, b: Map<number, number>) => {
  for (let s = 1; s <= STEPS; s++) {
    const x = a.get(s);
    const y = b.get(s);
    expect(x, `step ${s} missing`).toBeTypeOf('number');
    expect(Math.abs((x as number) - (y as number)), `step ${s}: ${x} vs ${y}`).toBeLessThan(1e-5);
  }
};

const expectSameParams = async (runA: string, runB: string) => {
  const a = await loadCheckpoint(path.join(runA, 'checkpoints', `step-${String(STEPS).padStart(6, '0')}`));
  const b = await loadCheckpoint(path.join(runB, 'checkpoints', `step-${String(STEPS).padStart(6, '0')}`));
  if (E.isLeft(a) || E.isLeft(b)) throw new Error('cannot load the final checkpoints');
  expect(Object.keys(b.right.weights).sort()).toEqual(Object.keys(a.right.weights).sort());
  let worst = 0;
  for (const [k, t] of Object.entries(a.right.weights)) {
    const u = b.right.weights[k]?.data as Float32Array;
    (t.data as Float32Array).forEach((x, i) => (worst = Math.max(worst, Math.abs(x - (u[i] as number)))));
  }
  expect(worst).toBeLessThan(1e-5);
};

describe('data-parallel pretraining over loopback', { timeout: 600_000 }, () => {
  it('2 workers × shares of batch 8 = 1 process × batch 8 (losses, parameters); kill -9 of a worker is named; --resume on 2 workers continues exactly', async () => {
    const w = tinyWorkspace();
    const single = path.join(w.dir, 'single');
    const one = cli(args(w, single));
    expect(one.status, one.stderr).toBe(0);
    const reference = losses(single);

    // the easy path: --workers 2 launches two local workers
    const two = path.join(w.dir, 'two');
    const r = cli([...args(w, two), '--workers', '2']);
    expect(r.status, r.stderr).toBe(0);
    expectSameLosses(reference, losses(two));
    await expectSameParams(single, two);

    // the multi-machine path on one machine: --cluster … --task-index i, then kill -9 task 1
    const cut = path.join(w.dir, 'cut');
    const [p0, p1] = await freePorts(2);
    const cluster = `127.0.0.1:${p0},127.0.0.1:${p1}`;
    const w0 = startWorker([...args(w, cut), '--cluster', cluster, '--task-index', '0']);
    const w1 = startWorker([...args(w, cut), '--cluster', cluster, '--task-index', '1']);
    expect(await waitFor(() => complete(cut, 4), 300_000)).toBe(true);
    w1.child.kill('SIGKILL');
    // task 0 must notice within the collective timeout (bounded wait, no timing assertion)
    const gone = await Promise.race([w0.exit, new Promise<undefined>((r) => setTimeout(() => r(undefined), (TIMEOUT + 60) * 1000))]);
    expect(gone, 'task 0 did not exit after task 1 was killed').toBeDefined();
    expect(gone?.code).toBe(1);
    const lines = (gone?.stderr ?? '').trim().split('\n');
    expect(lines, gone?.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^lamina pretrain: worker 1 at 127\\.0\\.0\\.1:${p1} stopped answering at step \\d+; the last checkpoint is intact; resume with: lamina pretrain --out .* --resume --cluster ${cluster} --task-index <i>`));
    const steps = fs.readdirSync(path.join(cut, 'checkpoints')).filter((d) => /^step-\d+$/.test(d)).map((d) => Number(d.slice(5)));
    const last = Math.max(...steps);
    expect(last).toBeLessThan(STEPS);
    expect(E.isRight(await loadCheckpoint(path.join(cut, 'checkpoints', `step-${String(last).padStart(6, '0')}`)))).toBe(true);

    const resumed = cli(['pretrain', '--out', cut, '--resume', '--workers', '2', '--quiet']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expectSameLosses(reference, losses(cut));
    await expectSameParams(single, cut);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });

  it('refuses at start-up a worker whose resolved config differs from task 0’s, naming the difference (task 0 from TF_CONFIG)', async () => {
    const w = tinyWorkspace();
    const run = path.join(w.dir, 'run');
    const [p0, p1] = await freePorts(2);
    const workers = [`127.0.0.1:${p0}`, `127.0.0.1:${p1}`];
    const tfConfig = JSON.stringify({ cluster: { worker: workers }, task: { type: 'worker', index: 0 } });
    const w0 = startWorker(args(w, run), { TF_CONFIG: tfConfig });
    const w1 = startWorker([...args(w, run).map((a) => (a === '0.01' ? '0.02' : a)), '--cluster', workers.join(','), '--task-index', '1']);
    const [e0, e1] = await Promise.all([w0.exit, w1.exit]);
    expect(e1.code).toBe(2);
    expect(e1.stderr.trim()).toBe(`lamina pretrain: worker 1 at ${workers[1]} refused: its resolved config differs from task 0's: config.lr: 0.02 here, 0.01 on task 0`);
    expect(e0.code).toBe(2);
    expect(e0.stderr.trim()).toBe(`lamina pretrain: worker 1 at ${workers[1]} refused at start-up: its resolved config differs from task 0's (see its message)`);
    expect(fs.existsSync(path.join(run, 'checkpoints'))).toBe(false);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });

  it('bad cluster flags are one line and exit 2', () => {
    const w = tinyWorkspace();
    const r = cli([...args(w, path.join(w.dir, 'x')), '--cluster', '127.0.0.1:1,127.0.0.1:1', '--task-index', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('lamina pretrain: --cluster: 127.0.0.1:1 is listed twice (every worker needs its own host:port)');
    const t = cli([...args(w, path.join(w.dir, 'x')), '--workers', '2', '--task-index', '1']);
    expect(t.status).toBe(2);
    expect(t.stderr.trim()).toBe('lamina pretrain: --task-index needs --cluster host:port,host:port,…');
    fs.rmSync(w.dir, { recursive: true, force: true });
  });
});
