// `lamina tokenize` end to end in a subprocess: ids equal the committed reference fixtures.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const lamina = path.join(repo, 'packages/train/bin/lamina.js');
const vocab = path.join(repo, 'packages/albert/assets/vocab');

interface Enc {
  input_ids: number[];
  token_type_ids: number[];
}
interface Case {
  text: string;
  pair?: string;
  fast: Enc;
  slow: Enc;
}
const fx = JSON.parse(fs.readFileSync(path.join(here, 'fixtures/tokenizer/bundled.json'), 'utf8')) as { singles: Case[]; pairs: Case[] };
// stdin is read line by line: only texts without line breaks (and tabs, for pairs) can go through it
const oneLine = (s: string) => !/[\r\n]/.test(s);

const run = (args: string[], input: string) => {
  const r = spawnSync(process.execPath, [lamina, ...args], { input, encoding: 'utf8', cwd: repo, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const parse = (out: string): Enc[] =>
  out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Enc);

describe('lamina tokenize', () => {
  it('default (committed tokenizer.json): one JSON object per line, equal to Hugging Face tokenizers', () => {
    const cases = fx.singles.filter((c) => oneLine(c.text)).slice(0, 40);
    const r = run(['tokenize'], cases.map((c) => `${c.text}\n`).join(''));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(parse(r.out)).toEqual(cases.map((c) => c.fast));
  });

  it('--pair with a spiece.model: tab-separated pairs, equal to sentencepiece + AlbertTokenizer', () => {
    const cases = fx.pairs.filter((c) => oneLine(c.text) && oneLine(c.pair ?? '') && !c.text.includes('\t') && !(c.pair ?? '').includes('\t'));
    expect(cases.length).toBeGreaterThan(5);
    const r = run(['tokenize', '--pair', '--tokenizer', path.join(vocab, 'spiece.model')], cases.map((c) => `${c.text}\t${c.pair}\n`).join(''));
    expect(r.code).toBe(0);
    expect(parse(r.out)).toEqual(cases.map((c) => c.slow));
  });

  it('bad input: one line on stderr and exit 2', () => {
    const missing = run(['tokenize', '--tokenizer', '/nonexistent/vocab'], 'x\n');
    expect(missing.code).toBe(2);
    expect(missing.err.trim().split('\n')).toEqual(['lamina tokenize: tokenizer /nonexistent/vocab does not exist']);
    const noTab = run(['tokenize', '--pair'], 'no tab here\n');
    expect(noTab.code).toBe(2);
    expect(noTab.err.trim()).toBe('lamina tokenize: line 1 has no tab separating the pair (--pair expects "A<TAB>B")');
    const corrupt = run(['tokenize', '--tokenizer', path.join(here, 'fixtures/tokenizer/bundled.json')], 'x\n');
    expect(corrupt.code).toBe(2);
    expect(corrupt.err).toMatch(/bundled\.json is not a tokenizer\.json \(it has no model section\)/);
  });

  it('tokenizer train: a corpus that does not exist is a usage error', () => {
    const r = run(['tokenizer', 'train', '--corpus', '/nonexistent/corpus', '--out', '/tmp/never'], '');
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('lamina tokenizer train: corpus path /nonexistent/corpus does not exist');
  });
});
