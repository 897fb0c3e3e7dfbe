// `lamina finetune` / `lamina eval-task` at the CLI edge: bad input exits 2 with one readable line
// on stderr (and fails before TensorFlow is loaded).
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { init } from '@lamina/dsl';
import { albertForPretraining, tinyConfig, writeHfDirectory } from '@lamina/albert';
import { paramsToRaw } from '../src/checkpoint.js';
import { CliError, EXIT, helpText } from '../src/cli/command.js';
import { finetune, finetuneConfigFromFlags } from '../src/cli/finetune.js';

const repo = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(repo, 'packages/train/bin/lamina.js');

const run = (args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> =>
  new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: repo, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code, out, err }));
  });

let dir: string;
let hf: string;
let good: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-ftcli-'));
  hf = path.join(dir, 'hf');
  const c = tinyConfig({ vocabSize: 10000, embeddingSize: 8, hiddenSize: 16, intermediateSize: 16, numAttentionHeads: 2, maxPositionEmbeddings: 16 });
  const ps = init(albertForPretraining(c), 1);
  if (E.isLeft(ps)) throw new Error(ps.left.message);
  const raw = paramsToRaw(ps.right);
  Object.values(ps.right).forEach((v) => v.dispose());
  if (E.isLeft(raw)) throw new Error(raw.left.message);
  const w = await writeHfDirectory(hf, c, 'AlbertForPreTraining', raw.right);
  if (E.isLeft(w)) throw new Error(w.left.message);
  good = path.join(dir, 'good.jsonl');
  fs.writeFileSync(good, '{"text":"a whale","label":"yes"}\n{"text":"a cat","label":"no"}\n');
});

const file = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

describe('lamina finetune / eval-task: bad input → exit 2, one line', () => {
  it('every case', async () => {
    const ft = (over: Record<string, string>) => {
      const a: Record<string, string> = { checkpoint: hf, train: good, eval: good, out: path.join(dir, 'out'), 'seq-len': '16', ...over };
      return ['finetune', ...Object.entries(a).flatMap(([k, v]) => (v === '' ? [] : [`--${k}`, v]))];
    };
    const cases: Array<[string[], RegExp]> = [
      [ft({ train: '' }), /^lamina finetune: missing --train \(see `lamina finetune --help`\)$/],
      [ft({ checkpoint: path.join(dir, 'nope') }), /^lamina finetune: --checkpoint: no such directory: .*nope$/],
      [ft({ train: file('badjson.jsonl', '{"text":"a","label":"x"}\n{"text": nope}\n') }), /^lamina finetune: .*badjson\.jsonl:2: not valid JSON/],
      [ft({ eval: file('unknown.jsonl', '{"text":"a","label":"yes"}\n\n{"text":"b","label":"maybe"}\n') }), /^lamina finetune: .*unknown\.jsonl:3: label "maybe" is not one of the training labels \("no", "yes"\)$/],
      [ft({ train: file('empty.jsonl', '') }), /^lamina finetune: .*empty\.jsonl has no examples$/],
      [ft({ train: file('nocol.tsv', 'sentence\tlabel\nhi\tx\n') }), /^lamina finetune: .*nocol\.tsv:1: the header row has no "text" column/],
      [['eval-task', '--checkpoint', hf, '--data', good], /^lamina eval-task: .*is not a fine-tuned model \(no finetune\.json; run lamina finetune first\)$/],
    ];
    // three at a time: each is a node process
    const results: Awaited<ReturnType<typeof run>>[] = [];
    for (let i = 0; i < cases.length; i += 3) results.push(...(await Promise.all(cases.slice(i, i + 3).map(([args]) => run(args)))));
    for (const [i, r] of results.entries()) {
      const [args, re] = cases[i] as [string[], RegExp];
      const lines = r.err.split('\n').filter((l) => l.trim() !== '');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0], args.join(' ')).toMatch(re);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  }, 600_000);

  it('flag values are checked before anything is read (in process)', () => {
    const base = { checkpoint: 'ck', train: 't.jsonl', eval: 'e.jsonl', out: 'o' };
    const msg = (v: Record<string, unknown>) => {
      try {
        finetuneConfigFromFlags(v);
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(CliError);
        expect((e as CliError).code).toBe(EXIT.usage);
        return (e as Error).message;
      }
    };
    expect(msg({ ...base, task: 'translate' })).toBe('--task must be one of classify, regress, got "translate"');
    expect(msg({ ...base, epochs: 'two' })).toBe('--epochs must be an integer >= 1, got "two"');
    expect(msg({ ...base, optimizer: 'sgd' })).toBe('--optimizer must be one of lamb, adamw, got "sgd"');
    expect(msg({ ...base, dropout: '1.5' })).toBe('--dropout must be a number <= 0.9 (the limit), got 1.5');
    expect(msg({ ...base, epochs: '-1' })).toBe('--epochs must be an integer >= 1, got -1');
    expect(msg({ ...base, out: undefined })).toBe('missing --out (see `lamina finetune --help`)');
    const c = finetuneConfigFromFlags({ ...base, 'max-train': '100', warmup: '5', lr: '3e-4' });
    expect([c.maxTrain, c.warmup, c.lr, c.task, c.optimizer, c.epochs]).toEqual([100, 5, 3e-4, 'classify', 'adamw', 3]);
    expect(finetuneConfigFromFlags(base).warmup).toBeUndefined();
    const help = helpText(finetune);
    for (const o of ['--checkpoint', '--task', '--train', '--eval', '--out', '--epochs', '--max-train', '--eval-every', '--optimizer', '--dropout']) expect(help).toContain(o);
  });
});
