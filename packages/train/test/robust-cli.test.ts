// Issue 14, sections 2 and 3: every bad input is exit 2 with exactly one stderr line and leaves
// the user's files as they were; damaged checkpoints fall back in one line. Run in-process
// (helpers/in-process.ts) so the many cases stay fast; the bin's own filtering is tested at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { commands } from '../src/cli/commands.js';
import { checkOutDir, checkWritable, diffResumeFlags, stageDir, sweepStaged } from '../src/run/rundir.js';
import { spawnSync } from 'node:child_process';
import { runCli } from './helpers/in-process.js';
import { cli, tinyWorkspace } from './helpers/tiny-run.js';

process.env.LAMINA_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-cache-'));

/** Every file under `dir` with its SHA-256 (what "the user's files intact" is checked against). */
const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
};

const w = tinyWorkspace();
const run = path.join(w.dir, 'run');
const tiny = ['--model', w.model, '--corpus', w.corpus, '--batch-size', '4', '--seq-len', '24', '--eval-every', '0', '--eval-batches', '1', '--eval-fraction', '0.2', '--quiet'];

/** Runs a bad command: exit `code`, exactly one stderr line matching `pattern`, `protect` unchanged. */
const expectBad = async (args: string[], pattern: RegExp, opts: { code?: number; protect?: string[]; absent?: string[] } = {}) => {
  const before = (opts.protect ?? []).map(snapshot);
  const r = await runCli(args);
  expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(opts.code ?? 2);
  expect(r.errLines, r.stderr).toHaveLength(1);
  expect(r.errLines[0]).toMatch(pattern);
  expect(r.errLines[0]?.length ?? 0).toBeLessThan(600);
  (opts.protect ?? []).forEach((d, i) => expect(snapshot(d), `${d} changed`).toEqual(before[i]));
  for (const a of opts.absent ?? []) expect(fs.existsSync(a), `${a} was created`).toBe(false);
  return r;
};

beforeAll(async () => {
  const r = await runCli(['pretrain', ...tiny, '--out', run, '--steps', '4', '--checkpoint-every', '2', '--keep-last', '3']);
  expect(r.status, r.stderr).toBe(0);
});

afterAll(() => fs.rmSync(w.dir, { recursive: true, force: true }));

describe('numbers: bounded, decimal, safe integers, negative values reach the check', () => {
  const out = path.join(w.dir, 'never');
  it.each([
    [['--steps', '-1'], /--steps must be an integer >= 1, got -1$/],
    [['--steps', '0x3'], /--steps must be an integer >= 1, got "0x3"/],
    [['--batch-size', '1e12'], /--batch-size must be an integer <= 65536 \(the limit\), got 1e12/],
    [['--grad-accum', '1e12'], /--grad-accum must be an integer <= 65536 \(the limit\)/],
    [['--embedding-size', '1e12'], /--embedding-size must be an integer <= 65536 \(the limit\)/],
    [['--seed', '1e300'], /--seed must be an integer <= 4294967295 \(the limit\)/],
    [['--lr', 'Infinity'], /--lr must be a number/],
    [['--dropout', '0.95'], /--dropout must be a number <= 0.9/],
    [['--seq-len', '2.5'], /--seq-len must be an integer/],
  ])('pretrain %j', async (flags, pattern) => {
    await expectBad(['pretrain', ...tiny, '--out', out, ...(flags as string[])], pattern as RegExp, { absent: [out] });
  });

  it('every numeric flag of every command refuses -1 (when its minimum is 0 or more) and 1e300, naming the flag', async () => {
    let checked = 0;
    for (const c of commands) {
      for (const [name, spec] of Object.entries(c.options)) {
        if (!spec.number) continue;
        const argv = [...c.name.split(' ')];
        if (spec.number.min >= 0) {
          const r = await runCli([...argv, `--${name}`, '-1']);
          expect(r.status, `${c.name} --${name} -1`).toBe(2);
          expect(r.errLines).toHaveLength(1);
          expect(r.errLines[0]).toContain(`--${name} must be`);
        }
        const big = await runCli([...argv, `--${name}`, '1e300']);
        expect(big.status, `${c.name} --${name} 1e300`).toBe(2);
        expect(big.errLines[0]).toMatch(new RegExp(`--${name} must be .*<= \\S+ \\(the limit\\)`));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('config fields are bounded too; params never prints ∞', async () => {
    const cfg = path.join(w.dir, 'huge.json');
    fs.writeFileSync(cfg, JSON.stringify({ hiddenSize: 1e300 }));
    await expectBad(['params', '--model', cfg], /hiddenSize must be at most 65536 \(the limit\), got 1e\+300/);
  });

  it('a missing --model is required, not albert-base on the whole corpus', async () => {
    await expectBad(['pretrain', '--out', out], /missing --model/, { absent: [out] });
  });

  it('a run whose tensors could not exist is refused before it starts, naming the limit', async () => {
    const cfg = path.join(w.dir, 'wide.json');
    fs.writeFileSync(cfg, JSON.stringify({ embeddingSize: 65536, hiddenSize: 65536, numAttentionHeads: 64, numHiddenLayers: 1, intermediateSize: 4, maxPositionEmbeddings: 32 }));
    await expectBad(['pretrain', ...tiny, '--model', cfg, '--out', out], /beyond the limit of 2147483647|more than the machine's memory/, { absent: [out] });
  });
});

describe('data loss: nothing a user has is overwritten or deleted', () => {
  it('finetune --out <a pretraining run> is refused and the run is intact', async () => {
    await expectBad(['finetune', '--checkpoint', run, '--out', run, '--train', 'imdb', '--eval', 'imdb', '--seq-len', '24'], /holds a lamina pretraining run; choose another --out/, { protect: [run] });
  });

  it('finetune --out <a directory with checkpoints it did not write> is refused', async () => {
    const foreign = path.join(w.dir, 'foreign');
    fs.mkdirSync(path.join(foreign, 'checkpoints', 'step-000001'), { recursive: true });
    fs.writeFileSync(path.join(foreign, 'checkpoints', 'step-000001', 'weights.safetensors'), 'mine');
    await expectBad(['finetune', '--checkpoint', run, '--out', foreign, '--train', 'imdb', '--eval', 'imdb', '--seq-len', '24'], /already holds checkpoints that lamina did not write/, { protect: [foreign] });
  });

  it('export-hf --out <a lamina run> is refused; the run can still be resumed', async () => {
    await expectBad(['export-hf', '--checkpoint', run, '--out', run], /holds a lamina pretraining run; export into another --out/, { protect: [run] });
  });

  it('a failed start writes nothing: missing, empty, binary or latin-1 corpus, absurd config', async () => {
    const out = path.join(w.dir, 'failed');
    const empty = path.join(w.dir, 'empty.txt');
    fs.writeFileSync(empty, '\n\n');
    const binary = path.join(w.dir, 'blob.bin');
    fs.writeFileSync(binary, Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256)));
    const latin1 = path.join(w.dir, 'latin1.txt');
    fs.writeFileSync(latin1, Buffer.from('Caf\xe9 cr\xe8me and more text here.\n', 'latin1'));
    await expectBad(['pretrain', ...tiny, '--corpus', path.join(w.dir, 'nope.txt'), '--out', out], /corpus path .*nope\.txt does not exist/, { absent: [out] });
    await expectBad(['pretrain', ...tiny, '--corpus', empty, '--out', out], /contains no text/, { absent: [out] });
    const b = await expectBad(['pretrain', ...tiny, '--corpus', binary, '--out', out], /is a binary file, not UTF-8 text/, { absent: [out] });
    expect(b.stderr.length).toBeLessThan(300);
    await expectBad(['pretrain', ...tiny, '--corpus', latin1, '--out', out], /is not valid UTF-8 text/, { absent: [out] });
    await expectBad(['pretrain', ...tiny, '--eval-fraction', '0.001', '--out', out], /held-out/, { absent: [out] });
  });

  it('--resume refuses changed flags, naming them; --steps may extend the run', async () => {
    await expectBad(['pretrain', '--out', run, '--resume', '--lr', '5', '--batch-size', '8'], /changed flags: --lr 5 \(the run has 0\.001\), --batch-size 8 \(the run has 4\); only --steps may change/, { protect: [run] });
    const r = await runCli(['pretrain', '--out', run, '--resume', '--steps', '6', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(run, 'checkpoints', 'step-000006'))).toBe(true);
    expect((JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')) as { steps: number }).steps).toBe(6);
  });

  it('a damaged or truncated latest checkpoint: hashes are verified, the newest intact one is used, said in one line', async () => {
    const copy = path.join(w.dir, 'damaged');
    fs.cpSync(run, copy, { recursive: true });
    const steps = fs.readdirSync(path.join(copy, 'checkpoints')).sort();
    const [older, latest] = steps.slice(-2) as [string, string];
    const wfile = path.join(copy, 'checkpoints', latest, 'weights.safetensors');
    const bytes = fs.readFileSync(wfile);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff; // same size, one flipped byte
    fs.writeFileSync(wfile, bytes);
    const input = path.join(w.dir, 'in.json');
    fs.writeFileSync(input, JSON.stringify({ input_ids: [[2, 10, 11, 3]] }));
    const f = await runCli(['forward', '--checkpoint', copy, '--input', input, '--output', path.join(w.dir, 'out.json')]);
    expect(f.status, f.stderr).toBe(0);
    const warn = f.errLines.filter((l) => l.includes('damaged'));
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatch(new RegExp(`${latest} is damaged \\(weights\\.safetensors does not match its recorded SHA-256\\); using ${older}`));
    // truncated: no longer silently skipped
    fs.truncateSync(path.join(copy, 'checkpoints', older, 'optimizer.safetensors'), 10);
    const r = await runCli(['pretrain', '--out', copy, '--resume']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.errLines.filter((l) => l.includes('damaged'))).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`is damaged .*\\(and 1 more: ${older}\\); using step-000002`));
  });

  it('finetune --overwrite writes elsewhere and swaps only on success: a failed run leaves the old one intact', async () => {
    const train = path.join(w.dir, 'reg.jsonl');
    fs.writeFileSync(train, Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `the ship ${i} sails`, label: i / 8 })).join('\n'));
    const ft = path.join(w.dir, 'ft');
    const base = ['finetune', '--checkpoint', run, '--task', 'regress', '--eval', train, '--out', ft, '--seq-len', '16', '--batch-size', '4', '--epochs', '1', '--quiet'];
    const first = await runCli([...base, '--train', train]);
    expect(first.status, first.stderr).toBe(0);
    // tensorboard/ is left out: tfjs-node keeps a writer per log directory in this process and may
    // still flush the first run's own event file (the CLI runs one command per process)
    const mine = (d: string) => Object.fromEntries(Object.entries(snapshot(d)).filter(([k]) => !k.startsWith('tensorboard')));
    const before = mine(ft);
    const huge = path.join(w.dir, 'huge.jsonl');
    fs.writeFileSync(huge, Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `the ship ${i}`, label: 3e38 })).join('\n'));
    const second = await runCli([...base, '--train', huge, '--overwrite']);
    expect(second.status, second.stderr).not.toBe(0);
    expect(mine(ft)).toEqual(before);
    expect(fs.readdirSync(w.dir).filter((n) => n.includes('.partial-'))).toEqual([]);
    const third = await runCli([...base, '--train', train, '--overwrite', '--seed', '7']);
    expect(third.status, third.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(ft, 'finetune.json'), 'utf8')).config.seed).toBe(7);
  });

  it('stageDir: abort leaves the old directory, commit replaces it', () => {
    const d = path.join(w.dir, 'staged');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'finetune.json'), JSON.stringify({ kind: 'lamina-finetune-run' }));
    const a = stageDir(d);
    fs.writeFileSync(path.join(a.dir, 'finetune.json'), JSON.stringify({ kind: 'lamina-finetune-run', v: 2 }));
    a.abort();
    expect(JSON.parse(fs.readFileSync(path.join(d, 'finetune.json'), 'utf8'))).toEqual({ kind: 'lamina-finetune-run' });
    const b = stageDir(d);
    fs.writeFileSync(path.join(b.dir, 'finetune.json'), JSON.stringify({ kind: 'lamina-finetune-run', v: 3 }));
    expect(E.isRight(b.commit())).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(d, 'finetune.json'), 'utf8')).v).toBe(3);
  });

  it('sweepStaged: a dead run\'s unfinished replacement is removed, a run caught mid-swap is put back, live ones are left alone', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    expect(pid).toBeGreaterThan(0);
    const root = path.join(w.dir, 'sweep');
    const mk = (name: string, content: string) => {
      fs.mkdirSync(path.join(root, name), { recursive: true });
      fs.writeFileSync(path.join(root, name, 'finetune.json'), content);
    };
    mk('ft', 'current');
    mk(`ft.partial-${pid}`, 'unfinished');
    mk(`ft.partial-${process.pid}`, 'live');
    mk(`ftx.partial-${pid}`, 'another run of another directory');
    mk(`gone.old-${pid}`, 'previous run');
    const notes: string[] = [];
    sweepStaged(path.join(root, 'ft'), (l) => notes.push(l));
    sweepStaged(path.join(root, 'gone'), (l) => notes.push(l));
    expect(fs.readdirSync(root).sort()).toEqual(['ft', `ft.partial-${process.pid}`, `ftx.partial-${pid}`, 'gone'].sort());
    expect(fs.readFileSync(path.join(root, 'gone', 'finetune.json'), 'utf8')).toBe('previous run');
    expect(fs.readFileSync(path.join(root, 'ft', 'finetune.json'), 'utf8')).toBe('current');
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/removed .*ft\.partial-\d+, the unfinished replacement/);
    expect(notes[1]).toMatch(/previous run is back in place/);
  });

  it('diffResumeFlags names each changed flag; unchanged and allowed ones pass', () => {
    expect(E.isRight(diffResumeFlags('r', [{ flag: 'lr', given: 0.001, stored: 0.001 }, { flag: 'steps', given: 9, stored: 4 }]))).toBe(true);
    const d = diffResumeFlags('r', [{ flag: 'objective', given: 'nsp', stored: 'sop' }]);
    expect(E.isLeft(d) && d.left.message).toMatch(/--objective "nsp" \(the run has "sop"\)/);
  });
});

describe('forward checks its inputs and weights up front', () => {
  it('empty ids, out-of-vocabulary ids, unknown fields', async () => {
    const f = path.join(w.dir, 'bad.json');
    fs.writeFileSync(f, JSON.stringify({ input_ids: [[]] }));
    await expectBad(['forward', '--checkpoint', run, '--input', f], /rows are empty; every sequence needs at least 1 token/);
    fs.writeFileSync(f, JSON.stringify({ input_ids: [[1, 1e9]] }));
    await expectBad(['forward', '--checkpoint', run, '--input', f], /input id 1000000000 is outside the vocabulary/);
  });

  it('huge outputs are refused with the limit named', async () => {
    const f = path.join(w.dir, 'many.json');
    fs.writeFileSync(f, JSON.stringify({ input_ids: Array.from({ length: 400 }, () => Array.from({ length: 32 }, () => 5)) }));
    await expectBad(['forward', '--checkpoint', run, '--input', f], /output numbers, more than the limit of 100000000/);
  });

  it('a config that does not match the weights, and NaN weights, are one line', async () => {
    const copy = path.join(w.dir, 'mismatch');
    fs.cpSync(run, copy, { recursive: true });
    const cfgFile = path.join(copy, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    cfg.model.intermediateSize = 41;
    fs.writeFileSync(cfgFile, JSON.stringify(cfg));
    const input = path.join(w.dir, 'in2.json');
    fs.writeFileSync(input, JSON.stringify({ input_ids: [[2, 10, 3]] }));
    await expectBad(['forward', '--checkpoint', copy, '--input', input], /the config does not match the weights: ".*" is \[.*\] in the config but \[.*\] in the weights/);
    // NaN weights: an HF export whose safetensors we poison
    const hf = path.join(w.dir, 'hf-nan');
    expect((await runCli(['export-hf', '--checkpoint', run, '--out', hf])).status).toBe(0);
    const st = path.join(hf, 'model.safetensors');
    const bytes = fs.readFileSync(st);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    bytes.writeFloatLE(Number.NaN, 8 + headerLen); // the first float of the first tensor
    fs.writeFileSync(st, bytes);
    await expectBad(['forward', '--checkpoint', hf, '--input', input], /the weights are unusable: ".*" holds NaN/);
  });
});

describe('file-system errors: one line naming the path and the real cause', () => {
  it('--out is a file; a component is too long; a parent is a file', async () => {
    const file = path.join(w.dir, 'afile');
    fs.writeFileSync(file, 'x');
    await expectBad(['pretrain', ...tiny, '--out', file], /--out .*afile is a file, not a directory/, { protect: [w.dir] });
    await expectBad(['pretrain', ...tiny, '--out', path.join(w.dir, 'x'.repeat(300))], /file name too long \(ENAMETOOLONG\)/);
    await expectBad(['pretrain', ...tiny, '--out', path.join(file, 'sub')], /afile is a file, not a directory/);
  });

  it('a read-only file system, a denied directory, a full disk (checked with fakes of the probes)', () => {
    const ro = Object.assign(new Error('x'), { code: 'EROFS' });
    const denied = Object.assign(new Error('x'), { code: 'EACCES' });
    const access = fs.accessSync;
    const statfs = fs.statfsSync;
    try {
      (fs as { accessSync: unknown }).accessSync = () => {
        throw ro;
      };
      const a = checkWritable(path.join(w.dir, 'ro', 'run'));
      expect(E.isLeft(a) && a.left).toEqual({ message: expect.stringMatching(/cannot create --out .*ro\/run: read-only file system \(EROFS\)/), code: 2 });
      (fs as { accessSync: unknown }).accessSync = () => {
        throw denied;
      };
      const b = checkWritable(path.join(w.dir, 'run2'));
      expect(E.isLeft(b) && b.left.message).toMatch(/permission denied \(EACCES\)/);
      (fs as { accessSync: unknown }).accessSync = access;
      (fs as { statfsSync: unknown }).statfsSync = () => ({ bavail: 1, bsize: 4096 });
      const c = checkOutDir(path.join(w.dir, 'run3'), { kind: 'lamina-pretraining-run' });
      expect(E.isLeft(c) && c.left.message).toMatch(/no space left on device \(ENOSPC/);
    } finally {
      (fs as { accessSync: unknown }).accessSync = access;
      (fs as { statfsSync: unknown }).statfsSync = statfs;
    }
  });
});

describe('other inputs', () => {
  it('a binary --train file is quoted with at most a few escaped characters', async () => {
    const binary = path.join(w.dir, 'blob2.bin');
    fs.writeFileSync(binary, Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31 + 7) % 256)));
    const r = await expectBad(['finetune', '--checkpoint', run, '--train', binary, '--eval', binary, '--out', path.join(w.dir, 'ftb'), '--seq-len', '24'], /blob2\.bin/);
    expect(r.stderr.length).toBeLessThan(400);
    // eslint-disable-next-line no-control-regex
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0e-\x1f\x7f]/);
  });

  it('eval --corpus caches in the cache directory, never in the run', async () => {
    const before = snapshot(run);
    const r = await runCli(['eval', '--checkpoint', run, '--corpus', w.corpus, '--batches', '1', '--batch-size', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(snapshot(run)).toEqual(before);
    expect(fs.readdirSync(path.join(process.env.LAMINA_CACHE_DIR as string, 'datasets')).length).toBeGreaterThan(0);
  });
});

describe('the lamina bin', () => {
  it("hides TensorFlow's C++ start-up lines (shown with --verbose)", { timeout: 600_000 }, () => {
    const env = { TF_ENABLE_ONEDNN_OPTS: '1', TF_CPP_MIN_LOG_LEVEL: '0' };
    const r = cli(['doctor', '--backend', 'tensorflow'], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const v = cli(['doctor', '--backend', 'tensorflow', '--verbose'], env);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/native TensorFlow/);
    expect(v.stderr).toMatch(/oneDNN|absl/);
  });
});
