// The example architectures in models/ train through `lamina train` with tiny dimensions, and
// their training loss falls: GPT-2 with clm, the Universal Transformer with mlm, the 1-D CNN with
// classify on the bundled IMDB task, and a tagger with token-classify on a JSONL file of tagged
// words. Each run is a few steps; the check compares the mean loss of the first and last steps.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli, losses, repo } from './helpers/tiny-run.js';
import { runCli } from './helpers/in-process.js';

const env = { TF_CPP_MIN_LOG_LEVEL: '3' };
let dir: string;
let corpus: string;
const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const common = (steps: number) => ['--steps', String(steps), '--warmup', '1', '--eval-every', '0', '--eval-batches', '1', '--seed', '5', '--quiet', '--checkpoint-every', '0'];

/** The mean loss of the first k steps and of the last k. */
const firstLast = (run: string, k: number): { first: number; last: number } => {
  const l = losses(run);
  const steps = [...l.keys()].filter((s) => s > 0).sort((a, b) => a - b);
  const mean = (xs: number[]) => xs.reduce((a, s) => a + (l.get(s) as number), 0) / xs.length;
  return { first: mean(steps.slice(0, k)), last: mean(steps.slice(-k)) };
};

const PLACES = ['Paris', 'London', 'Rome', 'Berlin', 'Madrid', 'Vienna'];
const OTHER = ['she', 'went', 'to', 'the', 'old', 'city', 'of', 'and', 'saw', 'river', 'a', 'friend'];
const tagged = (n: number, seed: number): string => {
  let s = seed;
  const r = (m: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % m);
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 6 + r(4) }, () => (r(3) === 0 ? (PLACES[r(PLACES.length)] as string) : (OTHER[r(OTHER.length)] as string)));
    return JSON.stringify({ tokens: words, labels: words.map((w) => (PLACES.includes(w) ? 'LOC' : 'O')) });
  }).join('\n');
};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-archs-'));
  const words = ['sea', 'ship', 'whale', 'harbour', 'captain', 'storm', 'island', 'night'];
  const doc = (i: number) => Array.from({ length: 8 }, (_, j) => `The ${words[(i + j) % 8]} and the ${words[(i * 3 + j) % 8]} met in chapter ${i}.`).join(' ');
  corpus = write('corpus.txt', Array.from({ length: 40 }, (_, i) => doc(i)).join('\n\n'));
});

describe('lamina train: the example architectures in models/ learn', { timeout: 600_000 }, () => {
  it('GPT-2 (models/gpt2.ts) with clm; generate continues from its run (logits in a fanout)', async () => {
    const out = path.join(dir, 'gpt2');
    const r = cli(['train', '--model', path.join(repo, 'models/gpt2.ts'), '--objective', 'clm', '--corpus', corpus, '--out', out, '--batch-size', '8', '--seq-len', '32', '--lr', '0.003', ...common(12)], env);
    expect(r.status, r.stderr).toBe(0);
    const { first, last } = firstLast(out, 3);
    expect(last).toBeLessThan(first * 0.9);
    const g = await runCli(['generate', '--checkpoint', out, '--prompt', 'The whale', '--max-new-tokens', '3', '--temperature', '0', '--json']);
    expect(g.status, g.stderr).toBe(0);
    expect((JSON.parse(g.stdout) as { text: string }).text.toLowerCase().startsWith('the whale')).toBe(true);
  });

  it('the Universal Transformer (models/universal-transformer.ts) with mlm', () => {
    const out = path.join(dir, 'ut');
    const r = cli(['train', '--model', path.join(repo, 'models/universal-transformer.ts'), '--objective', 'mlm', '--corpus', corpus, '--out', out, '--batch-size', '8', '--seq-len', '32', '--lr', '0.003', ...common(12)], env);
    expect(r.status, r.stderr).toBe(0);
    const { first, last } = firstLast(out, 3);
    expect(last).toBeLessThan(first * 0.9);
  });

  it('the 1-D CNN (models/conv-classifier.ts) with classify on the bundled IMDB task', () => {
    const out = path.join(dir, 'cnn');
    // 64 reviews, 4 batches an epoch: 16 steps are 4 epochs over them
    const r = cli(['train', '--model', path.join(repo, 'models/conv-classifier.ts'), '--objective', 'classify', '--train', 'imdb', '--eval', 'imdb', '--max-train', '64', '--max-eval', '32', '--out', out, '--batch-size', '16', '--seq-len', '64', '--lr', '0.003', ...common(16)], env);
    expect(r.status, r.stderr).toBe(0);
    const { first, last } = firstLast(out, 4);
    expect(last).toBeLessThan(first * 0.9);
  });

  it('a tagger with token-classify on JSONL {"tokens", "labels"}; bad tagged files are one line, exit 2', async () => {
    const model = write(
      'tagger.ts',
      `import { seq, named, embedding, dense } from '@lamina/dsl';
export default ({ vocabSize, numLabels }: { vocabSize: number; numLabels: number }) =>
  seq(named('emb', embedding(vocabSize, 32)), named('hidden', dense(32, 32, { activation: 'relu' })), named('tags', dense(32, numLabels)));
`,
    );
    const train = write('tags-train.jsonl', tagged(64, 1));
    const evalFile = write('tags-eval.jsonl', tagged(16, 2));
    const out = path.join(dir, 'tagger');
    const r = cli(['train', '--model', model, '--objective', 'token-classify', '--train', train, '--eval', evalFile, '--out', out, '--batch-size', '16', '--seq-len', '24', '--lr', '0.01', ...common(16)], env);
    expect(r.status, r.stderr).toBe(0);
    const { first, last } = firstLast(out, 4);
    expect(last).toBeLessThan(first * 0.7);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { labels: string[] };
    expect(cfg.labels).toEqual(['LOC', 'O']);
    const m = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    const acc = m.filter((x) => x['eval/accuracy'] !== undefined).map((x) => x['eval/accuracy'] as number);
    expect(acc.at(-1)).toBeGreaterThan(acc[0] as number);

    const bad = async (text: string, re: RegExp) => {
      const f = write(`bad-${Math.abs(text.length * 31 + text.charCodeAt(2))}.jsonl`, text);
      const b = await runCli(['train', '--model', model, '--objective', 'token-classify', '--train', f, '--eval', evalFile, '--out', path.join(dir, 'bad-tagger'), '--steps', '1']);
      expect(b.status, b.stderr).toBe(2);
      expect(b.errLines, b.stderr).toHaveLength(1);
      expect(b.errLines[0]).toMatch(re);
    };
    await bad('{"tokens": ["a", "b"], "labels": ["X"]}\n', /:1: 2 tokens but 1 labels \(one label per token\)$/);
    await bad('{"tokens": ["a"], "labels": ["X"]}\n{"text": "a"}\n', /:2: "tokens" must be an array of strings$/);
    await bad('not json\n', /:1: not valid JSON/);
    expect(fs.existsSync(path.join(dir, 'bad-tagger'))).toBe(false);
  });
});
