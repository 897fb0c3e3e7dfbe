/**
 * `lamina eval --checkpoint <Hugging Face GPT-2 dir> --corpus …`: the `clm` objective's held-out
 * metrics (loss, perplexity, next-token accuracy) of a GPT-2 directory on a corpus, tokenized
 * with the directory's own byte-level BPE. Each document is its sentences joined by one space,
 * followed by `<|endoftext|>` (GPT-2's document separator); the stream is cut into windows of
 * `seqLength + 1` tokens overlapping by one (every token after the first is predicted once), the
 * last one padded and masked out. No optimizer, nothing written.
 *
 * @example
 * ```ts
 * const r = await evaluateGpt2HfDirectory('packages/albert/test/fixtures/bpe/gpt2-tiny', { corpus: 'notes.txt', seqLength: 32 });
 * if (E.isRight(r)) console.log(r.right.metrics.perplexity);
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { gpt2LMHeadModel, readGpt2HfDirectory, readGpt2HfTokenizer, type BpeTokenizer, type Corpus } from '@lamina/albert';
import { rawToTensors } from '../checkpoint.js';
import { addSums } from '../core/step.js';
import { evalSumsEngine } from '../core/graph-eval.js';
import type { StepEngine } from '../core/graph-step.js';
import type * as tf from '@tensorflow/tfjs';
import { lmFeed, packWindows, type LmWindows } from './lm-data.js';
import type { TrainError } from './train.js';
import { prepareModel } from './train.js';
import { runCorpus } from './data.js';

/**
 * The windows of a corpus under GPT-2's tokenizer (see the module comment); padding is
 * `<|endoftext|>` (masked out), or id 0 if the vocabulary has none.
 * @example bpeLmWindows(corpus, tok, 32).count
 */
export const bpeLmWindows = (corpus: Corpus, tok: BpeTokenizer, seqLength: number, maxWindows = Infinity): LmWindows => {
  const stream: number[] = [];
  const need = maxWindows === Infinity ? Infinity : maxWindows * seqLength + 1;
  for (const d of corpus.documents()) {
    for (const id of tok.encode(d.sentences.join(' '))) stream.push(id);
    if (tok.endOfText !== undefined) stream.push(tok.endOfText);
    if (stream.length >= need) break;
  }
  return packWindows(stream, seqLength, tok.endOfText ?? 0, maxWindows);
};

/**
 * Options of {@link evaluateGpt2HfDirectory}.
 * @example { corpus: 'notes.txt', seqLength: 128, batchSize: 8, batches: 16 }
 */
export interface Gpt2HfEvalOptions {
  /** A text file or directory (`lamina train --corpus`'s forms). */
  readonly corpus: string;
  /** Tokens per window (default: the model's positions, at most 128). */
  readonly seqLength?: number;
  /** Windows per batch (default 32, as `lamina eval`). */
  readonly batchSize?: number;
  /** Batches at most (default 16): the first `batches × batchSize` windows of the corpus. */
  readonly batches?: number;
  readonly engine?: StepEngine;
  /** Runs once the inputs are checked, before the first tensor (e.g. selects the backend). */
  readonly beforeCompute?: () => Promise<void>;
  readonly onEngine?: (engine: StepEngine) => void;
  readonly onNotice?: (line: string) => void;
}

/**
 * What {@link evaluateGpt2HfDirectory} returns.
 * @example { windows: 12, tokens: 380, seqLength: 32, metrics: { loss: 6.1, perplexity: 446, accuracy: 0.02 }, engine: 'graph' }
 */
export interface Gpt2HfEval {
  readonly windows: number;
  /** Tokens of the stream the windows cover. */
  readonly tokens: number;
  readonly seqLength: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly engine: StepEngine;
}

/**
 * Evaluates a Hugging Face GPT-2 directory with the `clm` objective on a corpus (see the module
 * comment). A missing or malformed model, tokenizer or corpus, a `seqLength` beyond the model's
 * positions and a corpus too short for one window are a Left with code 2.
 * @example await evaluateGpt2HfDirectory('gpt2-dir', { corpus: 'notes.txt' })
 */
export const evaluateGpt2HfDirectory = async (dir: string, o: Gpt2HfEvalOptions): Promise<E.Either<TrainError, Gpt2HfEval>> => {
  const bad = (message: string): E.Either<TrainError, never> => E.left({ message, code: 2 });
  const m = await readGpt2HfDirectory(dir);
  if (E.isLeft(m)) return bad(m.left.message);
  const tok = readGpt2HfTokenizer(dir, m.right.config.vocabSize);
  if (E.isLeft(tok)) return bad(tok.left.message);
  const positions = m.right.config.maxPositions;
  const seqLength = o.seqLength ?? Math.min(128, positions);
  if (seqLength > positions) return bad(`--seq-len must be an integer <= ${positions} (the model's n_positions), got ${seqLength}`);
  const batchSize = o.batchSize ?? 32;
  const batches = o.batches ?? 16;
  const corpus = runCorpus(o.corpus, 0);
  if (E.isLeft(corpus)) return bad(corpus.left);
  const w = bpeLmWindows(corpus.right, tok.right, seqLength, batchSize * batches);
  if (w.count === 0) return bad(`${o.corpus} gives no window of tokens to evaluate (it needs at least 2 tokens)`);
  const model = gpt2LMHeadModel(m.right.config);
  const data = { corpus: o.corpus, train: undefined, eval: undefined, tokenizer: undefined, seqLength, maxDocuments: 0, evalFraction: 0, maxTrain: 0, maxEval: 0 };
  const prepared = prepareModel(model, { objective: 'clm', batchSize, data }, { vocabSize: m.right.config.vocabSize, numLabels: 2 });
  if (E.isLeft(prepared)) return bad(`${dir}: ${prepared.left}`);
  await o.beforeCompute?.();
  const engine = o.engine ?? 'graph';
  const params = rawToTensors(m.right.params) as Record<string, tf.Tensor>;
  try {
    const ev = evalSumsEngine(engine, prepared.right.forward, prepared.right.objective, { ...(o.onNotice ? { onNotice: o.onNotice } : {}) });
    o.onEngine?.(engine);
    const sums: number[][] = [];
    for (let i = 0; i < w.count; i += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, w.count - i) }, (_, k) => i + k);
      sums.push(await ev(params, lmFeed(w, idx)));
    }
    return E.right({ windows: w.count, tokens: w.tokens, seqLength, metrics: prepared.right.objective.evalResult(addSums(sums)), engine: ev.engine() });
  } finally {
    Object.values(params).forEach((t) => t.dispose());
  }
};
