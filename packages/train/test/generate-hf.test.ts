// `lamina generate --checkpoint <Hugging Face GPT-2 dir>`: the directory's GPT-2 (config.json +
// model.safetensors) with its byte-level BPE (vocab.json + merges.txt), greedy ids equal to
// GPT2LMHeadModel.generate's on the same weights (ids, not floats: the reference runs kept only
// prompts whose best logit beats the second by > 0.05 at every step), and the one-line errors;
// `lamina eval --checkpoint <that dir> --corpus`: clm loss equal to transformers' (1e-4 relative).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { readGpt2HfDirectory, writeGpt2HfDirectory } from '@lamina/albert';
import { runCli } from './helpers/in-process.js';
import { repo } from './helpers/tiny-run.js';

const tiny = path.join(repo, 'packages/albert/test/fixtures/bpe/gpt2-tiny');
interface HfCase {
  prompt: string;
  prompt_ids: number[];
  ids: number[];
  text: string;
  min_margin: number;
}
const reference = JSON.parse(fs.readFileSync(path.join(tiny, 'generate.json'), 'utf8')) as { eos_token_id: number; max_new_tokens: number; cases: HfCase[] };
const venvPython = path.join(repo, '.venv', 'bin', 'python');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-generate-hf-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Hugging Face stops after emitting eos and returns it; lamina stops before it. */
const withoutEos = (ids: number[], promptLength: number, eos: number): number[] => (ids.length > promptLength && ids[ids.length - 1] === eos ? ids.slice(0, -1) : ids);

const greedy = async (dir: string, prompt: string, n: number, extra: string[] = []) => {
  const r = await runCli(['generate', '--checkpoint', dir, '--prompt', prompt, '--max-new-tokens', String(n), '--temperature', '0', '--json', ...extra]);
  expect(r.status, r.stderr).toBe(0);
  return { out: JSON.parse(r.stdout) as { text: string; continuation: string; ids: number[]; promptTokens: number; stop: string; decoding: string; engine: string | null }, stderr: r.stderr };
};

/** A bad input: exit 2 and exactly one stderr line matching `re`. */
const oneLine = async (args: string[], re: RegExp) => {
  const r = await runCli(args);
  expect(r.status, r.stderr).toBe(2);
  expect(r.errLines, r.stderr).toHaveLength(1);
  expect(r.errLines[0]).toMatch(re);
};

describe('lamina generate on a Hugging Face GPT-2 directory', () => {
  it('greedy ids and text equal GPT2LMHeadModel.generate on the committed directory (cache and window paths)', async () => {
    expect(reference.cases.length).toBeGreaterThanOrEqual(3);
    for (const c of reference.cases) {
      const { out, stderr } = await greedy(tiny, c.prompt, reference.max_new_tokens);
      expect(stderr.trim()).toMatch(/^generate: key\/value cache \(2 attention application\(s\) cached/);
      expect(out.decoding).toBe('cache');
      expect(out.engine).toBe('graph');
      expect(out.promptTokens).toBe(c.prompt_ids.length);
      const expected = withoutEos(c.ids, c.prompt_ids.length, reference.eos_token_id);
      expect(out.ids, c.prompt).toEqual(expected);
      expect(out.stop).toBe(expected.length < c.ids.length ? 'sep' : 'max-new-tokens');
      // HF's text includes the <|endoftext|> it stopped at
      expect(out.text + (expected.length < c.ids.length ? '<|endoftext|>' : '')).toBe(c.text);
      expect(out.continuation).toBe(out.text.slice(c.prompt.length));
    }
    const c = reference.cases[1] as HfCase;
    const w = await greedy(tiny, c.prompt, reference.max_new_tokens, ['--no-cache']);
    expect(w.out.decoding).toBe('window');
    expect(w.out.engine).toBeNull();
    expect(w.out.ids).toEqual(withoutEos(c.ids, c.prompt_ids.length, reference.eos_token_id));
  });

  it('seeded sampling is reproducible and stays in the vocabulary', async () => {
    const run = (seed: string) => runCli(['generate', '--checkpoint', tiny, '--prompt', 'The whale', '--max-new-tokens', '6', '--temperature', '0.9', '--top-k', '20', '--seed', seed, '--json']);
    const [a, b] = [await run('3'), await run('3')];
    expect(a.status, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).ids).toEqual(JSON.parse(b.stdout).ids);
    for (const i of JSON.parse(a.stdout).ids as number[]) expect(i >= 0 && i < 500).toBe(true);
  });

  it('bad directories and prompts are one line and exit 2', async () => {
    // the model without its tokenizer files
    const bare = path.join(tmp, 'bare');
    fs.mkdirSync(bare);
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(tiny, f), path.join(bare, f));
    await oneLine(['generate', '--checkpoint', bare, '--prompt', 'x'], /^lamina generate: .*bare has no GPT-2 tokenizer: vocab.json and merges.txt are missing \(and there is no tokenizer.json\)$/);
    // a tokenizer with more ids than the model has rows
    const small = path.join(tmp, 'small');
    fs.mkdirSync(small);
    for (const f of ['model.safetensors', 'vocab.json', 'merges.txt']) fs.copyFileSync(path.join(tiny, f), path.join(small, f));
    const cfg = JSON.parse(fs.readFileSync(path.join(tiny, 'config.json'), 'utf8')) as Record<string, unknown>;
    // (the weights then no longer fit config.json either: that is reported first, naming the tensor)
    fs.writeFileSync(path.join(small, 'config.json'), JSON.stringify({ ...cfg, vocab_size: 400 }));
    await oneLine(['generate', '--checkpoint', small, '--prompt', 'x'], /^lamina generate: .*small: .*wte/);
    // a Hugging Face model that is not GPT-2
    await oneLine(['generate', '--checkpoint', path.join(repo, 'packages/albert/test/fixtures/albert/e_eq_h'), '--prompt', 'x'], /^lamina generate: .*e_eq_h holds a Hugging Face albert model; generate needs a causal model/);
    // a directory that is neither
    await oneLine(['generate', '--checkpoint', tmp, '--prompt', 'x'], /is not a lamina train run directory, nor a Hugging Face GPT-2 directory/);
    // a prompt longer than the model's 32 positions
    await oneLine(['generate', '--checkpoint', tiny, '--prompt', 'whale '.repeat(40)], /^lamina generate: the prompt is \d+ tokens; the model has 32 positions$/);
    // export-hf writes ALBERT only: a train run is refused in those words (not as a missing file)
    const run = path.join(tmp, 'train-run');
    fs.mkdirSync(run);
    fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify({ kind: 'lamina-train-run' }));
    await oneLine(['export-hf', '--checkpoint', run, '--out', path.join(tmp, 'export-out')], /^lamina export-hf: .*train-run is a lamina train run; export-hf writes ALBERT models/);
    expect(fs.existsSync(path.join(tmp, 'export-out'))).toBe(false);
    // a malformed merges.txt is named with its line
    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(broken);
    for (const f of ['config.json', 'model.safetensors', 'vocab.json']) fs.copyFileSync(path.join(tiny, f), path.join(broken, f));
    fs.writeFileSync(path.join(broken, 'merges.txt'), '#version: 0.2\nĠ t\nthree tokens here\n');
    await oneLine(['generate', '--checkpoint', broken, '--prompt', 'x'], /merges.txt:3: a merge is two tokens separated by one space/);
  });

  it.skipIf(!fs.existsSync(venvPython))(
    'a GPT-2 lamina exports, with the tokenizer files beside it, continues prompts as GPT2LMHeadModel.generate does (the same greedy ids; needs .venv)',
    async () => {
      const m = await readGpt2HfDirectory(tiny);
      if (E.isLeft(m)) throw new Error(m.left.message);
      // lamina's export of the weights, with bos/eos = <|endoftext|> (id 0 in this vocabulary)
      const dir = path.join(tmp, 'exported');
      const w = await writeGpt2HfDirectory(dir, { ...m.right.config, bosTokenId: 0, eosTokenId: 0 }, m.right.params);
      if (E.isLeft(w)) throw new Error(w.left.message);
      for (const f of ['vocab.json', 'merges.txt']) fs.copyFileSync(path.join(tiny, f), path.join(dir, f));
      const prompts = ['Queequeg', "I'd say: 3 harpoons,  2 boats.", 'Café 😀 ahoy', 'the sea, the sea'];
      const n = 10;
      const r = spawnSync(venvPython, ['scripts/python/hf_gpt2_generate.py', dir, String(n), ...prompts], { encoding: 'utf8', cwd: repo });
      expect(r.status, r.stderr).toBe(0);
      const hf = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as HfCase);
      expect(hf).toHaveLength(prompts.length);
      for (const h of hf) {
        // deterministic weights and prompts: a gap this wide cannot be closed by float error
        expect(h.min_margin, h.prompt).toBeGreaterThan(1e-3);
        const { out } = await greedy(dir, h.prompt, n);
        expect(out.ids.slice(0, out.promptTokens), h.prompt).toEqual(h.prompt_ids);
        expect(out.ids, h.prompt).toEqual(withoutEos(h.ids, h.prompt_ids.length, 0));
      }
    },
    300_000, // torch's start-up on a loaded machine
  );
});

describe('lamina eval on a Hugging Face GPT-2 directory (clm, its own tokenizer)', () => {
  const corpus = path.join(tmp, 'corpus.txt');
  const words = ['whale', 'ship', 'sea', 'harpoon', 'captain', 'storm', 'island', 'night'];
  // one line per paragraph, single spaces: lamina's sentence split and re-join gives the same text
  const docs = Array.from({ length: 8 }, (_, i) => Array.from({ length: 6 }, (_, j) => `The ${words[(i + j) % 8]} met the ${words[(i * 3 + j) % 8]} ${j + 1} times.`).join(' '));
  fs.writeFileSync(corpus, `${docs.join('\n\n')}\n`);
  const args = ['eval', '--checkpoint', tiny, '--corpus', corpus, '--seq-len', '16', '--batch-size', '4', '--batches', '3', '--json'];

  it('reports loss, perplexity = exp(loss) and accuracy over the windows; graph and eager agree', async () => {
    const r = await runCli(args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.errLines).toEqual(['eval engine: graph (one TensorFlow function per batch shape; --eager runs op by op)']);
    const j = JSON.parse(r.stdout) as { windows: number; tokens: number; seqLength: number; loss: number; perplexity: number; accuracy: number };
    expect(j.seqLength).toBe(16);
    expect(j.windows).toBe(12); // 3 batches of 4: the corpus has more
    expect(j.tokens).toBe(12 * 16 + 1);
    expect(j.perplexity).toBeCloseTo(Math.exp(j.loss), 6);
    expect(j.accuracy >= 0 && j.accuracy <= 1).toBe(true);
    const e = await runCli([...args, '--eager']);
    expect(Math.abs(JSON.parse(e.stdout).loss - j.loss)).toBeLessThanOrEqual(1e-5 * j.loss);
  });

  it('no --corpus, a --seq-len beyond the positions, a dir without tokenizer: one line, exit 2', async () => {
    await oneLine(['eval', '--checkpoint', tiny], /--corpus is needed for a Hugging Face directory/);
    await oneLine(['eval', '--checkpoint', tiny, '--corpus', corpus, '--seq-len', '64'], /--seq-len must be an integer <= 32 \(the model's n_positions\), got 64/);
    const bare = path.join(tmp, 'bare-eval');
    fs.mkdirSync(bare);
    for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(tiny, f), path.join(bare, f));
    await oneLine(['eval', '--checkpoint', bare, '--corpus', corpus], /bare-eval has no GPT-2 tokenizer/);
  });

  it.skipIf(!fs.existsSync(venvPython))(
    'the loss equals GPT2LMHeadModel\'s on the same windows (tokens, count, loss within 1e-4 relative; needs .venv)',
    async () => {
      const r = await runCli(args);
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { windows: number; tokens: number; loss: number; accuracy: number };
      const py = spawnSync(venvPython, ['scripts/python/hf_gpt2_clm_eval.py', tiny, corpus, '16', '12'], { encoding: 'utf8', cwd: repo });
      expect(py.status, py.stderr).toBe(0);
      const hf = JSON.parse(py.stdout.trim()) as { windows: number; tokens: number; loss: number; accuracy: number };
      expect(j.windows).toBe(hf.windows);
      expect(j.tokens).toBe(hf.tokens);
      expect(Math.abs(j.loss - hf.loss)).toBeLessThanOrEqual(1e-4 * hf.loss);
    },
    300_000,
  );
});
