// Exact resume: a run killed with SIGKILL (losing at most the steps since its last checkpoint)
// and continued with --resume follows the same loss trajectory as an uninterrupted run with the
// same seed. SIGINT saves a checkpoint and exits 0.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { cli, cliAsync, losses, tinyPretrainArgs, tinyWorkspace } from './helpers/tiny-run.js';

const STEPS = 10;

const waitFor = async (cond: () => boolean, ms: number): Promise<boolean> => {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
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

describe('exact resume', { timeout: 400_000 }, () => {
  it('kill -9 then --resume reproduces the uninterrupted loss trajectory', async () => {
    const w = tinyWorkspace();
    const full = path.join(w.dir, 'full');
    const a = cli([...tinyPretrainArgs(w, full, STEPS), '--checkpoint-every', '3']);
    expect(a.status, a.stderr).toBe(0);
    const reference = losses(full);
    expect([...reference.keys()].filter((s) => s > 0)).toHaveLength(STEPS);

    const cut = path.join(w.dir, 'cut');
    const child = cliAsync([...tinyPretrainArgs(w, cut, STEPS), '--checkpoint-every', '3']);
    const reached = await waitFor(() => checkpointSteps(cut).some((s) => s >= 3), 240_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(reached).toBe(true);
    const saved = Math.max(...checkpointSteps(cut));
    expect(saved).toBeLessThan(STEPS);

    const b = cli(['pretrain', '--out', cut, '--resume', '--quiet']);
    expect(b.status, b.stderr).toBe(0);
    const resumed = losses(cut);
    for (let s = 1; s <= STEPS; s++) {
      const want = reference.get(s) as number;
      const got = resumed.get(s) as number;
      expect(Math.abs(got - want), `step ${s}: ${got} vs ${want}`).toBeLessThan(1e-5);
    }
    expect(Math.max(...checkpointSteps(cut))).toBe(STEPS);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });

  it('SIGINT saves a checkpoint and exits 0; a half-written checkpoint is never resumed from', async () => {
    const w = tinyWorkspace();
    const run = path.join(w.dir, 'run');
    const child = cliAsync([...tinyPretrainArgs(w, run, 10_000), '--checkpoint-every', '0']);
    const started = await waitFor(() => fs.existsSync(path.join(run, 'metrics.jsonl')) && fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').includes('"loss"'), 240_000);
    expect(started).toBe(true);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    const steps = checkpointSteps(run);
    expect(steps.length).toBe(1);
    // a torn checkpoint (no COMPLETE marker) at a later step must be ignored by --resume
    const torn = path.join(run, 'checkpoints', `step-${String((steps[0] as number) + 5).padStart(6, '0')}`);
    fs.mkdirSync(torn);
    fs.writeFileSync(path.join(torn, 'weights.safetensors'), 'garbage');
    const r = cli(['pretrain', '--out', run, '--resume', '--steps', String((steps[0] as number) + 2), '--json-logs']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`"step":${(steps[0] as number) + 2}`);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });
});
