/**
 * Tokenizes fine-tuning examples once into flat typed arrays (`[CLS] A [SEP]` or
 * `[CLS] A [SEP] B [SEP]`, truncated longest-first to the sequence length) and cuts batches from
 * them, padded only to the longest example of each batch.
 *
 * @example
 * ```ts
 * const enc = encodeExamples(tokenizer, examples, 128);
 * const b = sliceBatch(enc, Int32Array.of(4, 0, 7));  // 3 examples, padded to their longest
 * ```
 * @module
 */
import type { Tokenizer } from '@lamina/albert';
import type { TaskExamples } from './data.js';

/**
 * Examples as fixed-width rows: example `i` occupies `[i·S, (i+1)·S)` of each id array and has
 * `lengths[i]` real tokens (the rest is padding).
 * @example { size: 2, seqLength: 8, inputIds: Int32Array(16), tokenTypeIds: Int32Array(16), lengths: Int32Array.of(5, 8), targets: Int32Array.of(0, 1) }
 */
export interface EncodedExamples {
  readonly size: number;
  readonly seqLength: number;
  readonly inputIds: Int32Array;
  readonly tokenTypeIds: Int32Array;
  readonly lengths: Int32Array;
  readonly targets: Int32Array | Float32Array;
  readonly padId: number;
}

/**
 * One batch, ready for `tf.tensor2d(x, [size, seqLength])`: `attentionMask` is 1 on real tokens.
 * @example { size: 3, seqLength: 12, inputIds, tokenTypeIds, attentionMask, targets }
 */
export interface TaskBatch {
  readonly size: number;
  readonly seqLength: number;
  readonly inputIds: Int32Array;
  readonly tokenTypeIds: Int32Array;
  readonly attentionMask: Int32Array;
  readonly targets: Int32Array | Float32Array;
}

const WS = /\s/g;

/**
 * The first `k` piece ids of `text`, tokenizing only a prefix of it: the text is cut at a
 * whitespace after about 4·k characters (doubling until the prefix yields k pieces). Exact for
 * tokenizers that split on whitespace first (SentencePiece and the ALBERT tokenizer.json do), since
 * a cut at a word boundary does not change the pieces before it.
 * @example tokenizePrefix(tok, longReview, 126) // same as tok.tokenize(longReview).slice(0, 126)
 */
export const tokenizePrefix = (tok: Pick<Tokenizer, 'tokenize'>, text: string, k: number): number[] => {
  if (k <= 0) return [];
  let cut = Math.max(64, 4 * k);
  for (;;) {
    if (cut >= text.length) return tok.tokenize(text).slice(0, k);
    WS.lastIndex = cut;
    const m = WS.exec(text);
    if (m === null) return tok.tokenize(text).slice(0, k);
    const ids = tok.tokenize(text.slice(0, m.index));
    if (ids.length >= k) return ids.slice(0, k);
    cut *= 2;
  }
};

/**
 * The last `k` piece ids of `text`, tokenizing only a suffix of it: the text is cut at a
 * whitespace about 4·k characters before its end (doubling until the suffix yields k pieces); the
 * mirror of {@link tokenizePrefix}, exact for the same tokenizers.
 * @example tokenizeSuffix(tok, longReview, 96) // same as tok.tokenize(longReview).slice(-96)
 */
export const tokenizeSuffix = (tok: Pick<Tokenizer, 'tokenize'>, text: string, k: number): number[] => {
  if (k <= 0) return [];
  let cut = Math.max(64, 4 * k);
  for (;;) {
    if (cut >= text.length) return tok.tokenize(text).slice(-k);
    // the first whitespace at or after text.length - cut starts a whole word
    WS.lastIndex = text.length - cut;
    const m = WS.exec(text);
    if (m !== null) {
      const ids = tok.tokenize(text.slice(m.index));
      if (ids.length >= k) return ids.slice(-k);
    }
    cut *= 2;
  }
};

/**
 * How a single text longer than the sequence is cut: `head` keeps its beginning (Hugging Face's
 * default); `head+tail` keeps its first quarter and its last three quarters of the budget, which
 * suits reviews and other texts that end with their verdict (Sun et al. 2019, "How to Fine-Tune
 * BERT for Text Classification", found head+tail best on IMDB). Pairs are always cut longest-first.
 * @example const t: Truncation = 'head+tail';
 */
export type Truncation = 'head' | 'head+tail';
/** The truncations, for validating user input. */
export const TRUNCATIONS: readonly Truncation[] = ['head', 'head+tail'];

/**
 * The piece ids of a single text cut to `budget` by `truncation` (see {@link Truncation}).
 * @example truncateSingle(tok, review, 126, 'head+tail').length // ≤ 126
 */
export const truncateSingle = (tok: Pick<Tokenizer, 'tokenize'>, text: string, budget: number, truncation: Truncation): number[] => {
  if (truncation === 'head') return tokenizePrefix(tok, text, budget);
  const head = tokenizePrefix(tok, text, budget + 1);
  if (head.length <= budget) return head;
  const h = Math.floor(budget / 4);
  return [...head.slice(0, h), ...tokenizeSuffix(tok, text, budget - h)];
};

/**
 * Longest-first truncation of a pair to at most `budget` tokens in total (Hugging Face's
 * `longest_first`): removes from the end of the longer segment (the second on ties) until it fits.
 * @example truncatePair(10, 3, 8) // [5, 3]
 */
export const truncatePair = (a: number, b: number, budget: number): [number, number] => {
  while (a + b > budget) {
    if (a > b) a--;
    else b--;
  }
  return [a, b];
};

/**
 * Tokenizes every example once (cut to `seqLength`, special tokens included: a single text by
 * `truncation`, default `head`; a pair longest-first).
 * Ids at or above `vocabSize` (a tokenizer larger than the model) are mapped to the tokenizer's
 * unknown id.
 * @example const enc = encodeExamples(tokenizer, examples, 128, config.vocabSize); // enc.inputIds: Int32Array(n·128)
 */
export const encodeExamples = (tok: Tokenizer, ex: TaskExamples, seqLength: number, vocabSize = Infinity, truncation: Truncation = 'head'): EncodedExamples => {
  const n = ex.texts.length;
  const S = seqLength;
  const inputIds = new Int32Array(n * S).fill(tok.special.pad);
  const tokenTypeIds = new Int32Array(n * S);
  const lengths = new Int32Array(n);
  const { cls, sep, unk } = tok.special;
  for (let i = 0; i < n; i++) {
    const pair = ex.pairs?.[i];
    const budget = S - (pair === undefined ? 2 : 3);
    let a = pair === undefined ? truncateSingle(tok, ex.texts[i] as string, budget, truncation) : tokenizePrefix(tok, ex.texts[i] as string, budget);
    let b: number[] = [];
    if (pair !== undefined) {
      b = tokenizePrefix(tok, pair, budget);
      const [la, lb] = truncatePair(a.length, b.length, budget);
      a = a.slice(0, la);
      b = b.slice(0, lb);
    }
    const row = i * S;
    let p = row;
    const put = (id: number, type: number) => {
      inputIds[p] = id < vocabSize ? id : unk;
      tokenTypeIds[p] = type;
      p++;
    };
    put(cls, 0);
    for (const id of a) put(id, 0);
    put(sep, 0);
    if (pair !== undefined) {
      for (const id of b) put(id, 1);
      put(sep, 1);
    }
    lengths[i] = p - row;
  }
  return { size: n, seqLength: S, inputIds, tokenTypeIds, lengths, targets: ex.targets, padId: tok.special.pad };
};

/**
 * The examples at `indices` as one batch, padded to the longest of them (a host copy; no tensors).
 * @example sliceBatch(enc, Int32Array.of(0, 1, 2))
 */
export const sliceBatch = (enc: EncodedExamples, indices: ArrayLike<number>): TaskBatch => {
  const B = indices.length;
  let S = 1;
  for (let j = 0; j < B; j++) S = Math.max(S, enc.lengths[indices[j] as number] as number);
  const inputIds = new Int32Array(B * S);
  const tokenTypeIds = new Int32Array(B * S);
  const attentionMask = new Int32Array(B * S);
  const targets = enc.targets instanceof Int32Array ? new Int32Array(B) : new Float32Array(B);
  for (let j = 0; j < B; j++) {
    const i = indices[j] as number;
    const from = i * enc.seqLength;
    inputIds.set(enc.inputIds.subarray(from, from + S), j * S);
    tokenTypeIds.set(enc.tokenTypeIds.subarray(from, from + S), j * S);
    attentionMask.fill(1, j * S, j * S + (enc.lengths[i] as number));
    targets[j] = enc.targets[i] as number;
  }
  return { size: B, seqLength: S, inputIds, tokenTypeIds, attentionMask, targets };
};

/**
 * Consecutive batches over all examples in order (the last may be smaller), for evaluation.
 * @example for (const b of orderedBatches(enc, 64)) …
 */
export function* orderedBatches(enc: EncodedExamples, batchSize: number): Generator<TaskBatch> {
  for (let i = 0; i < enc.size; i += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, enc.size - i) }, (_, j) => i + j);
    yield sliceBatch(enc, idx);
  }
}
