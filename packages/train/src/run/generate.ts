/**
 * Sampling from a causal model: seeded (the same seed gives the same text), greedy at temperature
 * 0, with top-k and top-p (nucleus) filtering. By default the loop decodes incrementally with a
 * cache of keys and values preallocated for the whole generation, each step one TensorFlow graph
 * function (`compileGraphDecoder` of @lamina/dsl): the prompt once (op by op: a prompt length
 * rarely comes twice), then one position per new token, the decode step traced once. `engine: 'eager'` decodes with the growing cache of
 * `compileIncremental`, op by op (to compare). A model the cache cannot serve (non-causal attention, conv1d, pooling
 * over the sequence, …), or `cache: false`, runs the whole window through the model for each new
 * token (`compileLastPosition`: the logits at the last position only); {@link decodingPlan} says
 * which path runs and why, in one line. `lamina generate --json` reports tokens/s, and
 * `pnpm bench generate` compares both paths for 100 new tokens (BENCHMARKS.md).
 *
 * @example
 * ```ts
 * const next = sampleToken(logits, { temperature: 0.8, topK: 40, topP: 0.95 }, createRng(1));
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import {
  compileGraphDecoder,
  compileIncremental,
  compileLastPosition,
  disposeCache,
  emptyCache,
  formatModelError,
  modelPositions,
  type FixedKvCache,
  type GraphDecoder,
  type GraphEngine,
  type IncrementalModel,
  type KvCache,
  type LastPositionModel,
  type Node,
  type RawTensor,
} from '@lamina/dsl';
import { INPUTS, type BpeTokenizer, type Tokenizer } from '@lamina/albert';
import { createRng, type Rng } from '../rng.js';

/**
 * How tokens are drawn.
 * @example { temperature: 0 } // greedy
 */
export interface SamplingOptions {
  /** 0: greedy (argmax); else logits are divided by it. */
  readonly temperature: number;
  /** Keep only the k most likely tokens (undefined: all). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1: all). */
  readonly topP?: number;
}

/**
 * Draws the next token from one row of logits.
 * @example sampleToken(Float32Array.from([0, 5, 1]), { temperature: 0 }, createRng(0)) // 1
 */
export const sampleToken = (logits: ArrayLike<number>, o: SamplingOptions, rng: Rng): number => {
  const V = logits.length;
  if (o.temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
    return best;
  }
  const idx = Array.from({ length: V }, (_, i) => i).sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  const k = Math.min(V, o.topK ?? V);
  const top = idx.slice(0, k);
  const max = (logits[top[0] as number] as number) / o.temperature;
  const w = top.map((i) => Math.exp((logits[i] as number) / o.temperature - max));
  const total = w.reduce((a, x) => a + x, 0);
  const p = o.topP ?? 1;
  let keep = top.length;
  if (p < 1) {
    let acc = 0;
    for (let j = 0; j < top.length; j++) {
      acc += (w[j] as number) / total;
      if (acc >= p) {
        keep = j + 1;
        break;
      }
    }
  }
  const kept = w.slice(0, keep);
  const sum = kept.reduce((a, x) => a + x, 0);
  let u = rng.nextFloat() * sum;
  for (let j = 0; j < keep; j++) {
    u -= kept[j] as number;
    if (u < 0) return top[j] as number;
  }
  return top[keep - 1] as number;
};

/**
 * The number of positions a model can take: the smallest `maxLen` of its position embeddings
 * (undefined: no limit in the value).
 * @example maxPositions(seq(embedding(10, 4), positionalEmbedding(64, 4))) // 64
 */
export const maxPositions = (model: Node): number | undefined => modelPositions(model);

/**
 * A tokenizer generation can use: lamina's SentencePiece one (a `clm` run's), or GPT-2's
 * byte-level BPE (a Hugging Face GPT-2 directory's `vocab.json` + `merges.txt`).
 * @example const tok: GenerateTokenizer = unwrap(loadBpeTokenizer('gpt2-dir'));
 */
export type GenerateTokenizer = Tokenizer | BpeTokenizer;

const isBpe = (tok: GenerateTokenizer): tok is BpeTokenizer => tok.format === 'gpt2-bpe';

/**
 * Text of token ids. SentencePiece: `▁` marks a word start and special tokens are dropped. GPT-2
 * BPE: the bytes of the tokens as UTF-8 (as `GPT2Tokenizer.decode`; `<|endoftext|>` is kept).
 * @example detokenize(tok, tok.tokenize('Call me Ishmael.')) // 'Call me Ishmael.'
 */
export const detokenize = (tok: GenerateTokenizer, ids: readonly number[]): string =>
  isBpe(tok)
    ? tok.decode(ids)
    : ids
        .filter((i) => !tok.isSpecial(i))
        .map((i) => tok.idToPiece(i) ?? '')
        .join('')
        .replace(/▁/g, ' ')
        .replace(/^ /, '');

/**
 * The ids of a prompt (no special token added), for either kind of tokenizer.
 * @example promptIds(tok, 'Call me') // [...]
 */
export const promptIds = (tok: GenerateTokenizer, text: string): number[] => (isBpe(tok) ? tok.encode(text) : tok.tokenize(text));

/**
 * The token that ends a document, where generation stops: `[SEP]` for lamina's tokenizer (clm
 * training data ends each document with it), `<|endoftext|>` for GPT-2's (undefined: none).
 * @example endOfDocument(tok) // tok.special.sep
 */
export const endOfDocument = (tok: GenerateTokenizer): number | undefined => (isBpe(tok) ? tok.endOfText : tok.special.sep);

/**
 * The prompt's token ids, or why the model cannot continue it (no tokens; longer than the
 * model's positions). Needs no tensor.
 * @example checkPrompt(model, tok, 'Call me') // right([...])
 */
export const checkPrompt = (model: Node, tok: GenerateTokenizer, text: string): E.Either<string, number[]> => {
  const prompt = promptIds(tok, text);
  if (prompt.length === 0) return E.left('the prompt has no tokens');
  const maxPos = maxPositions(model);
  if (maxPos !== undefined && prompt.length > maxPos) return E.left(`the prompt is ${prompt.length} tokens; the model has ${maxPos} positions`);
  return E.right(prompt);
};

/**
 * What {@link generate} needs.
 * @example { model, params, tokenizer, prompt: 'Call me', maxNewTokens: 20, sampling: { temperature: 0 }, seed: 1 }
 */
export interface GenerateRequest {
  readonly model: Node;
  /** Fanout output holding the logits (undefined: the model's one output). */
  readonly output?: string;
  readonly params: Readonly<Record<string, RawTensor>>;
  readonly tokenizer: GenerateTokenizer;
  readonly prompt: string;
  readonly maxNewTokens: number;
  readonly sampling: SamplingOptions;
  readonly seed: number;
  /** Stop at the end of a document ({@link endOfDocument}: `[SEP]`, or GPT-2's `<|endoftext|>`). Default true. */
  readonly stopAtSep?: boolean;
  /** Decode with a cache of keys and values when the model allows it (default true); false: the whole window per token. */
  readonly cache?: boolean;
  /** With the cache: `graph` (default) runs each step as one traced function; `eager` op by op on a growing cache. */
  readonly engine?: GraphEngine;
  /** Told, before the first token, the one line saying which path runs ({@link DecodingPlan.line}). */
  readonly onPlan?: (line: string) => void;
}

/**
 * How a generation runs: incremental decoding with a key/value cache, or the whole window per
 * token (logits at the last position only), with the one line that says so.
 * @example decodingPlan(model, undefined, true) // right({ kind: 'cache', line: 'generate: key/value cache (…)', … })
 */
export type DecodingPlan =
  | { readonly kind: 'cache'; readonly engine: 'graph'; readonly decoder: GraphDecoder; readonly line: string }
  | { readonly kind: 'cache'; readonly engine: 'eager'; readonly decoder: IncrementalModel; readonly line: string }
  | { readonly kind: 'window'; readonly forward: LastPositionModel; readonly line: string };

/**
 * Graph decoders by model value and output, so that generations from the same model reuse their
 * traced steps; each notice goes to the generation running now.
 */
const graphDecoders = new WeakMap<Node, Map<string, E.Either<string, GraphDecoder>>>();
let noticeTo: (line: string) => void = (line) => process.stderr.write(`${line}\n`);
const graphDecoderOf = (model: Node, o: { readonly input: string; readonly output?: string }): E.Either<string, GraphDecoder> => {
  let m = graphDecoders.get(model);
  if (!m) graphDecoders.set(model, (m = new Map()));
  const key = o.output ?? '';
  let d = m.get(key);
  if (!d) {
    // the prompt runs eager: each generation's prompt length is new, and a trace costs about two eager runs
    d = E.mapLeft(formatModelError)(compileGraphDecoder(model, { ...o, prefill: 'eager', onNotice: (line) => noticeTo(line) }));
    m.set(key, d);
  }
  return d;
};

/** Positions preallocated for a generation: the prompt and the new tokens, rounded up to 64 (so nearby lengths share a trace), at most the model's. */
const cacheCapacity = (prompt: number, maxNewTokens: number, maxPos: number | undefined): number => Math.min(maxPos ?? Infinity, Math.ceil((prompt + maxNewTokens) / 64) * 64);

/**
 * Chooses the decoding path for a model (see the module comment); a model even the window path
 * cannot run is an error line. Builds no tensor.
 * @example decodingPlan(model, 'logits', false) // right({ kind: 'window', line: 'generate: no key/value cache (--no-cache): …' })
 */
export const decodingPlan = (model: Node, output: string | undefined, cache: boolean, engine: GraphEngine = 'graph'): E.Either<string, DecodingPlan> => {
  const o = { input: INPUTS.ids, ...(output ? { output } : {}) };
  let why = 'no key/value cache (--no-cache)';
  if (cache && engine === 'graph') {
    const dec = graphDecoderOf(model, o);
    if (E.isRight(dec))
      return E.right({ kind: 'cache', engine: 'graph', decoder: dec.right, line: `generate: key/value cache (${dec.right.applications} attention application(s) cached; one position per new token, each step one graph function)` });
    why = `no key/value cache: ${dec.left}`;
  } else if (cache) {
    const dec = compileIncremental(model, o);
    if (E.isRight(dec)) return E.right({ kind: 'cache', engine: 'eager', decoder: dec.right, line: `generate: key/value cache (${dec.right.applications} attention application(s) cached; one position per new token, op by op)` });
    why = `no key/value cache: ${formatModelError(dec.left)}`;
  }
  const f = compileLastPosition(model, o);
  if (E.isLeft(f)) return E.left(formatModelError(f.left));
  return E.right({ kind: 'window', forward: f.right, line: `generate: ${why}; running the whole window per new token` });
};

/**
 * What {@link generate} returns.
 * @example { text: 'Call me Ishmael.', continuation: ' Ishmael.', promptTokens: 2, newTokens: 3, ids: [...], seconds: 0.2 }
 */
export interface Generated {
  readonly text: string;
  readonly continuation: string;
  readonly promptTokens: number;
  readonly newTokens: number;
  readonly ids: readonly number[];
  readonly seconds: number;
  /** Why it stopped. */
  readonly stop: 'max-new-tokens' | 'sep' | 'positions';
  /** The path that ran: `cache` (incremental decoding) or `window` (the whole window per token). */
  readonly decoding: DecodingPlan['kind'];
  /** How the cached steps ran: `graph` (one traced function per step), or `eager` (asked, or after a fallback notice); undefined for `window`. */
  readonly engine?: GraphEngine;
}

/**
 * The logits among a model's outputs: the one tensor, the named output, else the fanout's
 * `logits` (or its only output).
 * @example logitsOf({ logits: t }, undefined) // t
 */
export const logitsOf = (out: tf.Tensor | Readonly<Record<string, tf.Tensor>>, name: string | undefined): tf.Tensor => {
  if (out instanceof tf.Tensor) return out;
  const keys = Object.keys(out);
  const key = name ?? (keys.includes('logits') ? 'logits' : keys.length === 1 ? keys[0] : undefined);
  const t = key === undefined ? undefined : out[key];
  if (!t) throw new Error(`the model has no output ${JSON.stringify(name ?? 'logits')} (its outputs: ${keys.join(', ')})`);
  return t;
};

/**
 * Continues a prompt (see the module comment). Errors (an empty prompt, a prompt longer than the
 * model's positions) are one line.
 * @example const g = await generate(req); if (E.isRight(g)) console.log(g.right.text);
 */
export const generate = async (r: GenerateRequest): Promise<E.Either<string, Generated>> => {
  const checked = checkPrompt(r.model, r.tokenizer, r.prompt);
  if (E.isLeft(checked)) return checked;
  const prompt = checked.right;
  const maxPos = maxPositions(r.model);
  const plan = decodingPlan(r.model, r.output, r.cache ?? true, r.engine ?? 'graph');
  if (E.isLeft(plan)) return plan;
  r.onPlan?.(plan.right.line);
  // a graph decoder's fallback notice (once per decoder) is a plan line too
  noticeTo = r.onPlan ?? ((line) => process.stderr.write(`${line}\n`));
  const params = Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, tf.tensor(v.data, [...v.shape], v.dtype === 'int32' ? 'int32' : 'float32')]));
  const rng = createRng(r.seed);
  const ids = [...prompt];
  const t0 = performance.now();
  let stop: Generated['stop'] = 'max-new-tokens';
  const p = plan.right;
  let cache: KvCache = p.kind === 'cache' && p.engine === 'graph' ? p.decoder.emptyCache(1, cacheCapacity(prompt.length, r.maxNewTokens, maxPos)) : emptyCache();
  // the tokens not yet run through the model: the prompt, then each new token
  let pending = [...prompt];
  try {
    for (let n = 0; n < r.maxNewTokens; n++) {
      if (maxPos !== undefined && ids.length >= maxPos) {
        stop = 'positions';
        break;
      }
      let row: tf.Tensor;
      if (p.kind === 'cache') {
        const x = tf.tensor2d(Int32Array.from(pending), [1, pending.length], 'int32');
        const s = p.engine === 'graph' ? p.decoder.step(params, cache as FixedKvCache, x) : p.decoder.step(params, cache, x);
        x.dispose();
        disposeCache(cache);
        cache = s.cache;
        row = s.logits;
      } else {
        const x = tf.tensor2d(Int32Array.from(ids), [1, ids.length], 'int32');
        row = p.forward(params, { [INPUTS.ids]: x });
        x.dispose();
      }
      const data = await row.data();
      row.dispose();
      const next = sampleToken(data as Float32Array, r.sampling, rng);
      if ((r.stopAtSep ?? true) && next === endOfDocument(r.tokenizer)) {
        stop = 'sep';
        break;
      }
      ids.push(next);
      pending = [next];
    }
  } finally {
    disposeCache(cache);
    Object.values(params).forEach((t) => t.dispose());
  }
  const seconds = (performance.now() - t0) / 1000;
  const continuation = ids.slice(prompt.length);
  const text = detokenize(r.tokenizer, ids);
  const engine = p.kind === 'window' ? undefined : p.engine === 'graph' ? p.decoder.engine() : 'eager';
  return E.right({
    text,
    continuation: text.slice(detokenize(r.tokenizer, prompt).length),
    promptTokens: prompt.length,
    newTokens: continuation.length,
    ids,
    seconds,
    stop,
    decoding: p.kind,
    ...(engine ? { engine } : {}),
  });
};
