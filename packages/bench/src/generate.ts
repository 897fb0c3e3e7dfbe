/**
 * `pnpm bench generate [--new-tokens N] [--repeats R] [--hidden H] [--layers L] [--profile]`:
 * tokens/s of `lamina generate`'s sampling loop (`generate` in @lamina/train) for N new tokens
 * (default 100) on a small GPT-2 (`gpt2LMHeadModel`, the committed 10k vocabulary), R runs
 * (min/median/max), greedy. `--profile` splits one run's time per token into the forward pass,
 * the device→host read and sampling. Prints a Markdown line for BENCHMARKS.md with the CPU and the
 * load average.
 *
 * @example
 * ```ts
 * import { generateMain } from './generate.js';
 * await generateMain(['--repeats', '3']);
 * ```
 * @module
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { defaultTokenizer, gpt2LMHeadModel, tinyGpt2Config } from '@lamina/albert';
import { compile, init, selectBackend, type RawTensor } from '@lamina/dsl';
import { generate, logitsOf, sampleToken, createRng } from '@lamina/train';
import { summarize } from './stats.js';

const flag = (argv: readonly string[], name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(argv[i + 1]) : def;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};

/**
 * Runs the benchmark (see the module comment); returns the exit code.
 * @example await generateMain(['--new-tokens', '100'])
 */
export const generateMain = async (argv: readonly string[]): Promise<number> => {
  const backend = await selectBackend();
  if (E.isLeft(backend)) {
    console.error(backend.left.message);
    return 1;
  }
  const N = flag(argv, 'new-tokens', 100);
  const R = flag(argv, 'repeats', 5);
  const H = flag(argv, 'hidden', 64);
  const L = flag(argv, 'layers', 2);
  const tok = defaultTokenizer();
  if (E.isLeft(tok)) {
    console.error(tok.left.message);
    return 1;
  }
  const config = tinyGpt2Config({ vocabSize: tok.right.vocabSize, maxPositions: N + 16, hiddenSize: H, numLayers: L, numHeads: 4, innerSize: 4 * H });
  const model = gpt2LMHeadModel(config);
  const store = init(model, 1);
  if (E.isLeft(store)) throw new Error(store.left.message);
  const params: Record<string, RawTensor> = Object.fromEntries(Object.entries(store.right).map(([k, v]) => [k, { dtype: 'float32', shape: [...v.shape], data: v.dataSync() as Float32Array }]));
  Object.values(store.right).forEach((v) => v.dispose());
  const prompt = 'Call me Ishmael. Some years ago';
  // the sampler never stops early here: --temperature 0 over an untrained model, [SEP] ignored
  const req = { model, params, tokenizer: tok.right, prompt, maxNewTokens: N, sampling: { temperature: 0 }, seed: 1, stopAtSep: false } as const;
  await generate({ ...req, maxNewTokens: 4 }); // warm-up (kernels, allocator)
  const tps: number[] = [];
  for (let r = 0; r < R; r++) {
    const g = await generate(req);
    if (E.isLeft(g)) throw new Error(g.left);
    tps.push(g.right.newTokens / g.right.seconds);
  }
  const s = summarize(tps);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const load = os.loadavg().map((x) => x.toFixed(1)).join(', ');
  console.log(`generate, GPT-2 H=${H} L=${L} vocab ${tok.right.vocabSize}, ${N} new tokens, ${R} runs, backend ${backend.right.name}: tokens/s min ${s.min.toFixed(1)} / median ${s.median.toFixed(1)} / max ${s.max.toFixed(1)}`);
  console.log(`| generate ${N} tokens (GPT-2 H=${H} L=${L}, V=${tok.right.vocabSize}) | ${s.min.toFixed(1)} | ${s.median.toFixed(1)} | ${s.max.toFixed(1)} | ${cpu}, ${os.cpus().length} cores, load ${load} |`);
  if (argv.includes('--profile')) {
    // one run split by phase: forward (graph of ops, synchronous on tfjs-node), host read, sampling
    const f = compile(model, { input: 'input_ids' });
    if (E.isLeft(f)) throw new Error(f.left.message);
    const ps = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tf.tensor(v.data, [...v.shape], 'float32')]));
    const ids = tok.right.tokenize(prompt);
    const t = { forward: 0, read: 0, sample: 0 };
    const rng = createRng(1);
    for (let n = 0; n < N; n++) {
      const t0 = performance.now();
      const row = tf.tidy(() => {
        const x = tf.tensor2d(Int32Array.from(ids), [1, ids.length], 'int32');
        const lg = logitsOf(f.right(ps, { input_ids: x, attention_mask: tf.onesLike(x) }, { training: false }), undefined);
        const V = lg.shape[2] as number;
        return tf.reshape(tf.slice(lg, [0, ids.length - 1, 0], [1, 1, V]), [V]);
      });
      const t1 = performance.now();
      const d = await row.data();
      row.dispose();
      const t2 = performance.now();
      ids.push(sampleToken(d as Float32Array, { temperature: 0 }, rng));
      const t3 = performance.now();
      t.forward += t1 - t0;
      t.read += t2 - t1;
      t.sample += t3 - t2;
    }
    Object.values(ps).forEach((x) => x.dispose());
    console.log(`profile per token: forward ${(t.forward / N).toFixed(2)} ms, read ${(t.read / N).toFixed(2)} ms, sampling ${(t.sample / N).toFixed(2)} ms`);
  }
  return 0;
};
