// `lamina train` on a model the user wrote: a .ts file outside the repository, using only
// @lamina/dsl exports, trains with clm on a text file (its loss falls), `lamina generate`
// continues a prompt from its run directory, and the same model as JSON (its encoded value)
// trains identically for the same seed. Bad models, files and prompts are one line and exit 2.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { encodeModel } from '@lamina/dsl';
import { runTokenizer } from '../src/run/data.js';
import { loadModelFile } from '../src/models/file.js';
import { cli, cliAsync, losses } from './helpers/tiny-run.js';

const env = { TF_CPP_MIN_LOG_LEVEL: '3' };
const MODEL = `import { seq, residual, repeat, named, dense, embedding, positionalEmbedding, layerNorm, multiHeadAttention } from '@lamina/dsl';

const D = 32;
const block = seq(
  residual(seq(named('ln1', layerNorm(D, 1e-5)), named('attn', multiHeadAttention(D, 4, { causal: true })))),
  residual(seq(named('ln2', layerNorm(D, 1e-5)), named('mlp', dense(D, 4 * D, { activation: 'gelu_new' })), named('proj', dense(4 * D, D)))),
);

export default ({ vocabSize }: { vocabSize: number }) =>
  seq(named('wte', embedding(vocabSize, D)), named('wpe', positionalEmbedding(40, D)), repeat(block, 2), named('ln_f', layerNorm(D, 1e-5)), named('head', dense(D, vocabSize)));
`;

let dir: string;
let corpus: string;
const file = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const trainArgs = (model: string, out: string, extra: string[] = []) => [
  'train', '--model', model, '--objective', 'clm', '--corpus', corpus, '--out', out, '--steps', '12', '--batch-size', '8', '--seq-len', '32',
  '--lr', '0.003', '--warmup', '2', '--eval-every', '0', '--eval-batches', '1', '--eval-fraction', '0.1', '--seed', '7', '--quiet', ...extra,
];
const oneLine = (r: { status: number | null; stderr: string }, re: RegExp) => {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(re);
};

beforeAll(() => {
  // outside the repository: no node_modules, no package.json
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-user-model-'));
  const words = ['sea', 'ship', 'whale', 'harbour', 'captain', 'storm', 'island', 'night'];
  const doc = (i: number) => Array.from({ length: 10 }, (_, j) => `The ${words[(i + j) % 8]} and the ${words[(i * 3 + j) % 8]} met ${j + 1} times in chapter ${i}.`).join(' ');
  corpus = file('corpus.txt', Array.from({ length: 40 }, (_, i) => doc(i)).join('\n\n'));
});

describe('lamina train: a model file written outside the repository', { timeout: 600_000 }, () => {
  it('trains with clm (loss falls), generates from its run, and its JSON form trains identically', async () => {
    const ts = file('tiny-gpt.ts', MODEL);
    const runA = path.join(dir, 'run-ts');
    const a = cli(trainArgs(ts, runA), env);
    expect(a.status, a.stderr).toBe(0);
    const la = losses(runA);
    const steps = [...la.keys()].filter((s) => s > 0).sort((x, y) => x - y);
    expect(steps).toHaveLength(12);
    const first = (la.get(1) as number) + (la.get(2) as number);
    const last = (la.get(11) as number) + (la.get(12) as number);
    expect(last).toBeLessThan(first * 0.9);

    // generate: greedy is deterministic, seeded sampling is reproducible, the prompt is continued
    const gen = (extra: string[]) => cli(['generate', '--checkpoint', runA, '--prompt', 'The whale and the', '--max-new-tokens', '8', '--json', ...extra], env);
    const g0 = gen(['--temperature', '0']);
    expect(g0.status, g0.stderr).toBe(0);
    const j0 = JSON.parse(g0.stdout) as { text: string; newTokens: number; promptTokens: number };
    expect(j0.text.toLowerCase().startsWith('the whale and the')).toBe(true);
    expect(j0.newTokens).toBeGreaterThan(0);
    // the key/value cache by default, --no-cache to compare: one line on stderr says which, the same greedy text
    expect(g0.stderr.trim()).toMatch(/^generate: key\/value cache \(2 attention application\(s\) cached/);
    const n0 = gen(['--temperature', '0', '--no-cache']);
    expect(n0.status, n0.stderr).toBe(0);
    expect(n0.stderr.trim()).toBe('generate: no key/value cache (--no-cache); running the whole window per new token');
    expect((JSON.parse(n0.stdout) as { ids: number[] }).ids).toEqual((JSON.parse(g0.stdout) as { ids: number[] }).ids);
    const s1 = gen(['--temperature', '1', '--top-k', '20', '--top-p', '0.9', '--seed', '3']);
    const s2 = gen(['--temperature', '1', '--top-k', '20', '--top-p', '0.9', '--seed', '3']);
    expect(s1.status, s1.stderr).toBe(0);
    expect((JSON.parse(s1.stdout) as { ids: number[] }).ids).toEqual((JSON.parse(s2.stdout) as { ids: number[] }).ids);

    // the same model as its encoded value (made here, not by the CLI), same seed: the same run
    const tok = runTokenizer(undefined);
    if (E.isLeft(tok)) throw new Error(tok.left);
    const m = await loadModelFile(ts, { vocabSize: tok.right.vocabSize, seqLength: 32, numLabels: 0 });
    if (E.isLeft(m)) throw new Error(m.left);
    const json = file('tiny-gpt.json', JSON.stringify(encodeModel(m.right)));
    const runB = path.join(dir, 'run-json');
    const b = cli(trainArgs(json, runB), env);
    expect(b.status, b.stderr).toBe(0);
    const lb = losses(runB);
    // the same code on the same machine in two processes: a stated tolerance
    for (const s of steps) expect(Math.abs((lb.get(s) as number) - (la.get(s) as number)), `step ${s}`).toBeLessThan(1e-6);

    // params and summary read model files and train runs
    const p = cli(['params', '--model', json], env);
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/parameters/);
    const q = cli(['params', '--model', runA], env);
    expect(q.stdout.replace(runA, '')).toBe(p.stdout.replace(json, ''));
  });

  it('SIGTERM checkpoints and exits 0; --resume --steps continues the run', async () => {
    const ts = file('tiny-gpt-2.ts', MODEL);
    const out = path.join(dir, 'run-term');
    const child = cliAsync(trainArgs(ts, out, ['--steps', '100000', '--checkpoint-every', '0']));
    const t0 = Date.now();
    while (Date.now() - t0 < 300_000 && !(fs.existsSync(path.join(out, 'metrics.jsonl')) && fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').includes('"loss"')))
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    const cks = fs.readdirSync(path.join(out, 'checkpoints')).filter((d) => /^step-\d+$/.test(d));
    expect(cks).toHaveLength(1);
    const at = Number((cks[0] as string).slice(5));
    const r = cli(['train', '--out', out, '--resume', '--steps', String(at + 2), '--quiet'], env);
    expect(r.status, r.stderr).toBe(0);
    expect(Math.max(...losses(out).keys())).toBe(at + 2);
  });

  it('bad models, files and prompts: one line, exit 2, before any tensor', () => {
    const out = (n: string) => path.join(dir, `bad-${n}`);
    // an output that does not fit the objective: the node path and what was expected
    const narrow = file('narrow.ts', MODEL.replace("named('head', dense(D, vocabSize))", "named('head', dense(D, 7))"));
    oneLine(cli(trainArgs(narrow, out('narrow')), env), /^lamina train: .*narrow\.ts: head: the clm objective's logits must have shape \[batch, seq, vocab\] with vocab = \d+, got \[8, 32, 7\]$/);
    // inputs the objective cannot feed: the node that reads them
    const gather = file('gather.ts', MODEL.replace("named('ln_f', layerNorm(D, 1e-5)),", "named('ln_f', layerNorm(D, 1e-5)), gatherPositions('masked_lm_positions'),").replace('multiHeadAttention }', 'multiHeadAttention, gatherPositions }'));
    oneLine(cli(trainArgs(gather, out('gather')), env), /^lamina train: .*gather\.ts: gather: needs the side input "masked_lm_positions", which is not given$/);
    // a syntax error, no default export, a default export that is not a model
    oneLine(cli(trainArgs(file('syntax.ts', 'export default seq(('), out('syntax')), env), /^lamina train: cannot load model file .*syntax\.ts: /);
    oneLine(cli(trainArgs(file('nodefault.ts', 'export const model = 1;\n'), out('nodefault')), env), /^lamina train: model file .*nodefault\.ts has no default export/);
    oneLine(cli(trainArgs(file('notmodel.js', 'export default { kind: "dense", inDim: "x" };\n'), out('notmodel')), env), /^lamina train: model file .*notmodel\.js: the default export is not a model value: /);
    for (const n of ['narrow', 'gather', 'syntax', 'nodefault', 'notmodel']) expect(fs.existsSync(out(n)), n).toBe(false);
    // generate: a prompt longer than the positions, --top-k 0, a run that is not causal
    const runA = path.join(dir, 'run-ts');
    oneLine(cli(['generate', '--checkpoint', runA, '--prompt', Array.from({ length: 60 }, () => 'whale').join(' ')], env), /^lamina generate: the prompt is \d+ tokens; the model has 40 positions$/);
    oneLine(cli(['generate', '--checkpoint', runA, '--prompt', 'x', '--top-k', '0'], env), /^lamina generate: --top-k must be an integer >= 1/);
    oneLine(cli(['generate', '--checkpoint', dir, '--prompt', 'x'], env), /is not a lamina train run directory/);
  });
});
