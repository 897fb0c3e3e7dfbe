/**
 * `pnpm bench generate [--new-tokens N] [--repeats R] [--sizes tiny,gpt2] [--no-python] [--out DIR] [--profile]`:
 * tokens/s of `lamina generate`'s loop (`generate` in @lamina/train) for N new tokens (default
 * 100), greedy, on its three paths: the key/value cache with each step one graph function (the
 * default), the growing cache op by op (`engine: 'eager'`), and no cache (`cache: false`: the
 * whole window per token); and Hugging Face `GPT2LMHeadModel.generate` (greedy, its own cache) in
 * the repository's venv as a peer. R repeats interleaved system by system after one warm-up each
 * (default 5 at `tiny`, 3 at `gpt2`, so that the gpt2 size stays within minutes); the graph's
 * warm-up is a whole first generation, timed (its trace included) and reported apart.
 * Sizes: `tiny` (H=64, 2 layers, 4 heads, the committed 10k vocabulary) and `gpt2` (the real
 * `gpt2` preset, 124M parameters); all weights random. Writes
 * `packages/bench/results/generate-<date>.json` (or under `--out`), which `BENCHMARKS.md`'s
 * generate section is rendered from (`renderGenerateSection`), and prints that section.
 * `--profile` also splits one no-cache run's time per token into forward, host read and sampling.
 *
 * @example
 * ```ts
 * import { generateMain } from './generate.js';
 * await generateMain(['--repeats', '3', '--sizes', 'tiny']);
 * ```
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { defaultTokenizer, GPT2_PRESETS, gpt2LMHeadModel, tinyGpt2Config, type Gpt2Config, type Tokenizer } from '@lamina/albert';
import { compileLastPosition, countParams, init, selectBackend, writeFileAtomic, type RawTensor } from '@lamina/dsl';
import { createRng, generate, sampleToken } from '@lamina/train';
import { renderGenerateSection, type GenerateResults, type GenerateRow } from './generate-report.js';
import { findPython, startHfGenerateWorker, type TorchWorker } from './python.js';
import { summarize } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(here, '..', '..', '..');
const RESULTS_DIR = path.join(REPO_ROOT, 'packages', 'bench', 'results');

const flag = <D extends number | undefined>(argv: readonly string[], name: string, def: D): number | D => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const n = Number(argv[i + 1]);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const strFlag = (argv: readonly string[], name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};

const PROMPT = 'Call me Ishmael. Some years ago';

/** The model sizes measured: the tiny one and the real `gpt2` preset (random weights). */
const sizeConfig = (name: string, vocab: number, positions: number): E.Either<string, { readonly label: string; readonly config: Gpt2Config }> => {
  if (name === 'tiny') return E.right({ label: `GPT-2 tiny (H=64, L=2, V=${vocab})`, config: tinyGpt2Config({ vocabSize: vocab, maxPositions: positions, hiddenSize: 64, numLayers: 2, numHeads: 4, innerSize: 256 }) });
  if (name === 'gpt2') return E.right({ label: '`gpt2` preset (H=768, L=12, V=50257)', config: { ...GPT2_PRESETS.gpt2, residDropout: 0, embdDropout: 0, attnDropout: 0 } });
  return E.left(`unknown size ${JSON.stringify(name)} (sizes: tiny, gpt2)`);
};

const rawParams = (store: Readonly<Record<string, tf.Variable>>): Record<string, RawTensor> =>
  Object.fromEntries(Object.entries(store).map(([k, v]) => [k, { dtype: 'float32', shape: [...v.shape], data: v.dataSync() as Float32Array } as RawTensor]));

const log = (m: string): void => void process.stdout.write(`[bench generate] ${m}\n`);

/** Repeats when `--repeats` is not given: fewer at gpt2 size, where one no-cache run takes tens of seconds. */
const DEFAULT_REPEATS: Readonly<Record<string, number>> = { tiny: 5, gpt2: 3 };

/** One size: warm-ups, then R interleaved repeats of the graph cache, the eager cache, no cache and (when available) Hugging Face. */
const measureSize = async (label: string, config: Gpt2Config, tok: Tokenizer, N: number, R: number, hf: TorchWorker | undefined, hfSkip: string): Promise<GenerateRow> => {
  const model = gpt2LMHeadModel(config);
  const store = init(model, 1);
  if (E.isLeft(store)) throw new Error(store.left.message);
  const params = rawParams(store.right);
  Object.values(store.right).forEach((v) => v.dispose());
  const nParams = countParams(model);
  // the sampler never stops early: --temperature 0 over an untrained model, [SEP] ignored
  const req = { model, params, tokenizer: tok, prompt: PROMPT, maxNewTokens: N, sampling: { temperature: 0 }, seed: 1, stopAtSep: false } as const;
  const run = async (cache: boolean, engine: 'graph' | 'eager', n = N) => {
    const g = await generate({ ...req, maxNewTokens: n, cache, engine, onPlan: (line) => (line.startsWith('graph:') ? log(line) : undefined) });
    if (E.isLeft(g)) throw new Error(g.left);
    return g.right;
  };
  let hfState: string | undefined = hf ? undefined : hfSkip;
  const prompt = tok.tokenize(PROMPT);
  if (hf) {
    const s = await hf.request({ cmd: 'setup', config, seed: 1 });
    if (E.isLeft(s)) hfState = s.left;
  }
  const hfRun = async (n: number): Promise<number | undefined> => {
    if (!hf || hfState !== undefined) return undefined;
    const r = await hf.request({ cmd: 'run', prompt, new_tokens: n });
    if (E.isLeft(r)) {
      hfState = r.left;
      return undefined;
    }
    return (r.right.new_tokens as number) / (r.right.seconds as number);
  };
  log(`${label}: warm-up`);
  // the graph's warm-up is a whole generation: its cache capacity (and so its traces) is that of every repeat
  const first = await run(true, 'graph');
  log(`${label}: first graph generation ${first.seconds.toFixed(2)} s (traces included), engine ${first.engine}`);
  await run(true, 'eager', 4);
  await run(false, 'graph', 4);
  await hfRun(4);
  const graph: number[] = [];
  const cached: number[] = [];
  const naive: number[] = [];
  const peer: number[] = [];
  let same = true;
  const sameIds = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  for (let r = 0; r < R; r++) {
    const g = await run(true, 'graph');
    const a = await run(true, 'eager');
    const b = await run(false, 'graph');
    same &&= sameIds(g.ids, b.ids) && sameIds(a.ids, b.ids);
    graph.push(g.newTokens / g.seconds);
    cached.push(a.newTokens / a.seconds);
    naive.push(b.newTokens / b.seconds);
    const h = await hfRun(N);
    if (h !== undefined) peer.push(h);
    log(
      `${label}: repeat ${r + 1}/${R}: graph cache ${graph[r]?.toFixed(1)} / eager cache ${cached[r]?.toFixed(1)} / no cache ${naive[r]?.toFixed(1)}${h === undefined ? '' : ` / Hugging Face ${h.toFixed(1)}`} tokens/s`,
    );
  }
  return {
    model: label,
    params: E.isRight(nParams) ? nParams.right : NaN,
    init: 'random',
    graph: summarize(graph),
    graphFirstSeconds: first.seconds,
    graphEngine: first.engine === 'eager' ? 'eager' : 'graph',
    cached: summarize(cached),
    naive: summarize(naive),
    hf: hfState !== undefined ? { skipped: hfState } : summarize(peer),
    sameGreedyIds: same,
  };
};

/** Splits one no-cache run's time per token: forward, device→host read, sampling. */
const profile = async (config: Gpt2Config, tok: Tokenizer, N: number): Promise<void> => {
  const model = gpt2LMHeadModel(config);
  const store = init(model, 1);
  if (E.isLeft(store)) throw new Error(store.left.message);
  const f = compileLastPosition(model, { input: 'input_ids' });
  if (E.isLeft(f)) throw new Error(f.left.message);
  const ids = tok.tokenize(PROMPT);
  const t = { forward: 0, read: 0, sample: 0 };
  const rng = createRng(1);
  for (let n = 0; n < N; n++) {
    const t0 = performance.now();
    const x = tf.tensor2d(Int32Array.from(ids), [1, ids.length], 'int32');
    const row = f.right(store.right, { input_ids: x });
    x.dispose();
    const t1 = performance.now();
    const d = await row.data();
    row.dispose();
    const t2 = performance.now();
    ids.push(sampleToken(d as Float32Array, { temperature: 0 }, rng));
    t.forward += t1 - t0;
    t.read += t2 - t1;
    t.sample += performance.now() - t2;
  }
  Object.values(store.right).forEach((v) => v.dispose());
  log(`profile per token (no cache): forward ${(t.forward / N).toFixed(2)} ms, read ${(t.read / N).toFixed(2)} ms, sampling ${(t.sample / N).toFixed(2)} ms`);
};

/**
 * Runs the benchmark (see the module comment); returns the exit code.
 * @example await generateMain(['--new-tokens', '100', '--sizes', 'tiny,gpt2'])
 */
export const generateMain = async (argv: readonly string[]): Promise<number> => {
  const load0 = os.loadavg()[0] as number;
  const backend = await selectBackend();
  if (E.isLeft(backend)) {
    console.error(backend.left.message);
    return 1;
  }
  const N = flag(argv, 'new-tokens', 100);
  const repeatsFlag = flag(argv, 'repeats', undefined);
  const sizes = (strFlag(argv, 'sizes') ?? 'tiny,gpt2').split(',').filter((s) => s !== '');
  const tok = defaultTokenizer();
  if (E.isLeft(tok)) {
    console.error(tok.left.message);
    return 1;
  }
  const configs = sizes.map((s) => sizeConfig(s, tok.right.vocabSize, N + 16));
  const bad = configs.find(E.isLeft);
  if (bad && E.isLeft(bad)) {
    console.error(`bench generate: ${bad.left}`);
    return 2;
  }
  // the Hugging Face peer: one worker for the whole run, so its repeats interleave with lamina's
  const py = argv.includes('--no-python') ? E.left('disabled with --no-python') : findPython();
  let worker: TorchWorker | undefined;
  let hfSkip = E.isLeft(py) ? py.left : '';
  let pytorch: GenerateResults['environment']['pytorch'] = { skipped: hfSkip };
  if (E.isRight(py)) {
    const w = await startHfGenerateWorker(py.right);
    if (E.isLeft(w)) hfSkip = w.left;
    else {
      const info = await w.right.request({ cmd: 'info' });
      if (E.isRight(info)) {
        worker = w.right;
        pytorch = { torch: String(info.right.torch), transformers: String(info.right.transformers), threads: Number(info.right.threads) };
      } else hfSkip = info.left;
    }
    if (!worker) pytorch = { skipped: hfSkip };
  }
  const repeatsOf = (size: string): number => repeatsFlag ?? DEFAULT_REPEATS[size] ?? 3;
  const rows: GenerateRow[] = [];
  try {
    for (const [i, c] of configs.entries()) if (E.isRight(c)) rows.push(await measureSize(c.right.label, c.right.config, tok.right, N, repeatsOf(sizes[i] as string), worker, hfSkip));
    if (argv.includes('--profile')) {
      const first = configs[0];
      if (first && E.isRight(first)) await profile(first.right.config, tok.right, N);
    }
  } finally {
    worker?.close();
  }
  const date = new Date().toISOString();
  const results: GenerateResults = {
    schema: 1,
    kind: 'generate',
    date,
    command: `pnpm bench generate${argv.length ? ` ${argv.join(' ')}` : ''}`,
    newTokens: N,
    promptTokens: tok.right.tokenize(PROMPT).length,
    repeats: Math.min(...sizes.map(repeatsOf)),
    environment: {
      backend: backend.right.name,
      cpuModel: os.cpus()[0]?.model ?? 'unknown CPU',
      cpus: os.cpus().length,
      loadAverage: [load0, os.loadavg()[0] as number],
      node: process.version,
      pytorch,
    },
    rows,
  };
  const dir = strFlag(argv, 'out') ?? RESULTS_DIR;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `generate-${date.slice(0, 10)}.json`);
  const w = await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(results, null, 2)}\n`));
  if (E.isLeft(w)) {
    console.error(`bench generate: could not write ${file}: ${w.left.message}`);
    return 1;
  }
  log(`wrote ${file} (BENCHMARKS.md renders its generate section from the newest such file: pnpm bench --report <results.json>)`);
  process.stdout.write(`\n${renderGenerateSection(results, path.relative(REPO_ROOT, file)).join('\n')}\n`);
  return 0;
};
