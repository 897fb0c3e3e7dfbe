// Bad CLI input is exit 2 with one readable line and no stack trace; --help works everywhere;
// params/summary print the model's numbers.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { cli, tinyWorkspace } from './helpers/tiny-run.js';

/** stderr lines that are ours (TensorFlow's own start-up chatter is not). */
const ours = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('lamina'));

const expectUsageError = (args: string[], pattern: RegExp) => {
  const r = cli(args);
  expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(2);
  expect(ours(r.stderr)).toHaveLength(1);
  expect(ours(r.stderr)[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
};

describe('lamina CLI: bad input is exit 2 with one line', () => {
  const w = tinyWorkspace();
  const out = path.join(w.dir, 'out');

  it('unknown preset', () => expectUsageError(['pretrain', '--model', 'albert-huge', '--out', out], /unknown preset "albert-huge" \(presets: albert-base, /));
  it('missing corpus', () => expectUsageError(['pretrain', '--model', w.model, '--corpus', path.join(w.dir, 'nope.txt'), '--out', out], /corpus path .*nope\.txt does not exist/));
  it('malformed config file (bad JSON)', () => {
    const bad = path.join(w.dir, 'bad.json');
    fs.writeFileSync(bad, '{"hiddenSize": 32,');
    expectUsageError(['pretrain', '--model', bad, '--out', out], /model config .*bad\.json is not valid JSON/);
  });
  it('config file with an unknown and an ill-typed field', () => {
    const bad = path.join(w.dir, 'typo.json');
    fs.writeFileSync(bad, JSON.stringify({ hiddenSize: 32, numHiddenLayerz: 2 }));
    expectUsageError(['params', '--model', bad], /unknown config field "numHiddenLayerz"/);
    fs.writeFileSync(bad, JSON.stringify({ hiddenSize: 'big' }));
    expectUsageError(['params', '--model', bad], /hiddenSize: expected PositiveInt, got "big"/);
  });
  it('inconsistent config', () => {
    const bad = path.join(w.dir, 'heads.json');
    fs.writeFileSync(bad, JSON.stringify({ hiddenSize: 30, numAttentionHeads: 4 }));
    expectUsageError(['summary', '--model', bad], /hiddenSize \(30\) must be a multiple of numAttentionHeads \(4\)/);
  });
  it('bad numbers and unknown flags', () => {
    expectUsageError(['pretrain', '--model', w.model, '--out', out, '--steps', 'many'], /--steps must be an integer >= 1, got "many"/);
    expectUsageError(['pretrain', '--model', w.model, '--out', out, '--optimizer', 'sgd'], /--optimizer must be one of lamb, adamw/);
    expectUsageError(['pretrain', '--model', w.model, '--out', out, '--frobnicate'], /Unknown option '--frobnicate'/);
    expectUsageError(['params', '--model', 'albert-base', '--sharing', 'some'], /--sharing must be one of all, attention, ffn, none/);
  });
  it('missing --out, resume without a run, unknown command', () => {
    expectUsageError(['pretrain', '--model', w.model], /missing --out/);
    expectUsageError(['pretrain', '--out', path.join(w.dir, 'nothing'), '--resume'], /nothing to resume: .*config\.json does not exist/);
    expectUsageError(['frobnicate'], /unknown command "frobnicate"/);
  });
  it('forward / eval / export-hf on something that is not a model directory', () => {
    expectUsageError(['eval', '--checkpoint', w.dir], /has no config\.json|not a/);
    expectUsageError(['export-hf', '--checkpoint', path.join(w.dir, 'missing'), '--out', out], /no such directory/);
  });
});

describe('lamina CLI: help and model numbers', () => {
  it('--help on every command exits 0 and shows usage', () => {
    const top = cli(['--help']);
    expect(top.status).toBe(0);
    const names = [...top.stdout.matchAll(/^ {2}(\S+(?: train)?)\s{2,}/gm)].map((m) => m[1] as string);
    expect(names).toEqual(expect.arrayContaining(['demo', 'pretrain', 'finetune', 'eval', 'forward', 'params', 'summary', 'export-hf', 'doctor', 'tokenize']));
    for (const n of names) {
      const r = cli([...n.split(' '), '--help']);
      expect(r.status, n).toBe(0);
      expect(r.stdout, n).toMatch(/Usage: lamina /);
    }
  });

  it('params --json gives the exact counts, summary shows the shared block', () => {
    const r = cli(['params', '--model', 'albert-base', '--json']);
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { total: number }).total).toBe(11_683_584);
    const b = cli(['params', '--model', 'bert-base']);
    expect(b.stdout).toMatch(/109,482,240 parameters/);
    const s = cli(['summary', '--model', 'albert-base', '--seq-len', '16']);
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/Shared "encoder\.group0": 7,087,872 stored, used 12×, 85,054,464 applied/);
  });
});
