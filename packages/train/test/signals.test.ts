// Every training command runs on the one loop: SIGINT and SIGTERM finish the step, save a
// checkpoint and exit 0; a run killed with SIGKILL continues with --resume on the same loss
// trajectory as a run that was never stopped. Fine-tuning gained both with the shared loop.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { init } from '@lamina/dsl';
import { albertForPretraining, tinyConfig, writeHfDirectory } from '@lamina/albert';
import { paramsToRaw } from '../src/checkpoint.js';
import { cli, cliAsync, laminaBin, losses, repo, tinyPretrainArgs, tinyWorkspace } from './helpers/tiny-run.js';
import { spawn } from 'node:child_process';

const waitFor = async (cond: () => boolean, ms: number): Promise<boolean> => {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
};
const checkpointSteps = (run: string): number[] =>
  fs.existsSync(path.join(run, 'checkpoints'))
    ? fs
        .readdirSync(path.join(run, 'checkpoints'))
        .filter((d) => /^step-\d+$/.test(d) && fs.existsSync(path.join(run, 'checkpoints', d, 'COMPLETE')))
        .map((d) => Number(d.slice(5)))
    : [];
const hasLoss = (run: string) => fs.existsSync(path.join(run, 'metrics.jsonl')) && fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').includes('"loss"');
const exitOf = (c: ReturnType<typeof cliAsync>) => new Promise<number | null>((r) => c.once('exit', (code) => r(code)));

let dir: string;
let hf: string;
let task: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-signals-'));
  hf = path.join(dir, 'hf');
  const c = tinyConfig({ vocabSize: 10000, embeddingSize: 8, hiddenSize: 16, intermediateSize: 16, numAttentionHeads: 2, maxPositionEmbeddings: 32 });
  const ps = init(albertForPretraining(c), 1);
  if (E.isLeft(ps)) throw new Error(ps.left.message);
  const raw = paramsToRaw(ps.right);
  Object.values(ps.right).forEach((v) => v.dispose());
  if (E.isLeft(raw)) throw new Error(raw.left.message);
  const w = await writeHfDirectory(hf, c, 'AlbertForPreTraining', raw.right);
  if (E.isLeft(w)) throw new Error(w.left.message);
  task = path.join(dir, 'task.jsonl');
  const words = ['whale', 'ship', 'storm', 'harbour', 'island', 'captain'];
  fs.writeFileSync(
    task,
    Array.from({ length: 64 }, (_, i) => JSON.stringify({ text: `the ${words[i % 6]} was ${i % 2 ? 'wonderful' : 'terrible'} on day ${i}`, label: i % 2 ? 'pos' : 'neg' })).join('\n') + '\n',
  );
});

/** 6 epochs × 16 steps, a checkpoint every 10: long enough to be killed after the first one. */
const EPOCHS = 6;
const ftArgs = (out: string, epochs: number): string[] => [
  'finetune', '--checkpoint', hf, '--train', task, '--eval', task, '--out', out, '--seq-len', '16', '--batch-size', '4', '--epochs', String(epochs),
  '--lr', '1e-3', '--dropout', '0.1', '--eval-every', '0', '--checkpoint-every', '10', '--quiet',
];

describe('fine-tuning on the shared loop', { timeout: 900_000 }, () => {
  it('kill -9 then --resume reproduces the uninterrupted loss trajectory', async () => {
    const full = path.join(dir, 'ft-full');
    const a = cli(ftArgs(full, EPOCHS));
    expect(a.status, a.stderr).toBe(0);
    const reference = losses(full);
    const total = EPOCHS * 16;
    expect([...reference.keys()].filter((s) => s > 0)).toHaveLength(total);

    const cut = path.join(dir, 'ft-cut');
    const child = cliAsync(ftArgs(cut, EPOCHS));
    const reached = await waitFor(() => checkpointSteps(cut).length > 0, 600_000);
    child.kill('SIGKILL');
    await exitOf(child);
    expect(reached).toBe(true);
    const saved = Math.max(...checkpointSteps(cut));
    expect(saved).toBeLessThan(total);

    const b = cli(['finetune', '--out', cut, '--resume', '--quiet']);
    expect(b.status, b.stderr).toBe(0);
    const resumed = losses(cut);
    for (let s = 1; s <= total; s++) {
      const want = reference.get(s) as number;
      const got = resumed.get(s) as number;
      // the same code on the same machine, but two processes: a stated tolerance, not equality
      expect(Math.abs(got - want), `step ${s}: ${got} vs ${want}`).toBeLessThan(1e-6);
    }
    expect(JSON.parse(fs.readFileSync(path.join(cut, 'eval.json'), 'utf8')).step).toBe(total);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} saves a checkpoint and exits 0; --resume finishes the run`, async () => {
      const out = path.join(dir, `ft-${signal}`);
      const child = cliAsync(ftArgs(out, 1000));
      expect(await waitFor(() => hasLoss(out), 600_000)).toBe(true);
      child.kill(signal);
      expect(await exitOf(child)).toBe(0);
      const steps = checkpointSteps(out);
      expect(steps.length).toBe(1);
      expect(fs.existsSync(path.join(out, 'eval.json'))).toBe(false);
      // resume and stop again right away: the step count only goes up
      const again = cliAsync(['finetune', '--out', out, '--resume', '--quiet']);
      const before = steps[0] as number;
      expect(await waitFor(() => checkpointSteps(out).some((s) => s > before) || [...losses(out).keys()].some((s) => s > before + 2), 240_000)).toBe(true);
      again.kill(signal);
      expect(await exitOf(again)).toBe(0);
      expect(Math.max(...checkpointSteps(out))).toBeGreaterThan(before);
    });
  }
});

describe('pretraining on the shared loop', { timeout: 900_000 }, () => {
  it('SIGTERM saves a checkpoint and exits 0', async () => {
    const w = tinyWorkspace();
    const run = path.join(w.dir, 'run');
    const child = cliAsync([...tinyPretrainArgs(w, run, 10_000), '--checkpoint-every', '0']);
    expect(await waitFor(() => hasLoss(run), 240_000)).toBe(true);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
    expect(checkpointSteps(run).length).toBe(1);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });

  it('SIGTERM to the whole process group (as `kill -TERM -PGID` and container runtimes send it) is one request: checkpoint, exit 0', async () => {
    const w = tinyWorkspace();
    const run = path.join(w.dir, 'run');
    // its own process group, so the group signal reaches the bin and its child, not this test
    const child = spawn(process.execPath, [laminaBin, ...tinyPretrainArgs(w, run, 10_000), '--checkpoint-every', '0'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await waitFor(() => hasLoss(run), 240_000)).toBe(true);
    process.kill(-(child.pid as number), 'SIGTERM');
    expect(await exitOf(child), stderr).toBe(0);
    expect(checkpointSteps(run).length).toBe(1);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });
});
