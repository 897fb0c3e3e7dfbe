/**
 * Data for causal language modelling: a corpus tokenized into one stream (documents separated by
 * the tokenizer's `[SEP]`), cut into windows of `seqLength + 1` tokens that overlap by one (so
 * every token is predicted once), the last one padded. A window gives the inputs `input_ids`,
 * `attention_mask` and the targets `labels` (the next tokens) and `weights` (0 where the input or
 * the target is padding).
 *
 * @example
 * ```ts
 * const w = lmWindows(corpus, tokenizer, 64);
 * const feed = lmFeed(w, [0, 1, 2, 3]); // a batch of 4 windows
 * ```
 * @module
 */
import { INPUTS, type Corpus, type Tokenizer } from '@lamina/albert';
import { float32, int32, type Feed } from '../core/step.js';

/**
 * Windows of a token stream.
 * @example { seqLength: 64, count: 120, ids: Int32Array(120 * 65), real: Uint8Array(120 * 65) }
 */
export interface LmWindows {
  readonly seqLength: number;
  readonly count: number;
  /** `count × (seqLength + 1)` token ids. */
  readonly ids: Int32Array;
  /** 1 for a real token, 0 for padding. */
  readonly real: Uint8Array;
  /** Tokens in the stream. */
  readonly tokens: number;
}

/**
 * Tokenizes a corpus and cuts it into windows (see the module comment).
 * @example lmWindows(corpus, tok, 32).count
 */
export const lmWindows = (corpus: Corpus, tok: Tokenizer, seqLength: number): LmWindows => {
  const stream: number[] = [];
  for (const d of corpus.documents()) {
    for (const s of d.sentences) for (const id of tok.tokenize(s)) stream.push(id);
    stream.push(tok.special.sep);
  }
  return packWindows(stream, seqLength, tok.special.pad);
};

/**
 * Cuts a token stream into windows of `seqLength + 1` tokens overlapping by one, at most
 * `maxWindows` of them; the last one is padded with `pad` and its padding marked not real.
 * `tokens` counts the stream's tokens the windows cover.
 * @example packWindows([5, 6, 7, 8], 2, 0) // 2 windows: [5, 6, 7] and [7, 8, 0]
 */
export const packWindows = (stream: readonly number[], seqLength: number, pad: number, maxWindows = Infinity): LmWindows => {
  const W = seqLength + 1;
  const count = Math.min(maxWindows, stream.length < 2 ? 0 : Math.ceil((stream.length - 1) / seqLength));
  const ids = new Int32Array(count * W).fill(pad);
  const real = new Uint8Array(count * W);
  for (let w = 0; w < count; w++)
    for (let j = 0; j < W; j++) {
      const at = w * seqLength + j;
      if (at >= stream.length) break;
      ids[w * W + j] = stream[at] as number;
      real[w * W + j] = 1;
    }
  return { seqLength, count, ids, real, tokens: Math.min(stream.length, count * seqLength + 1) };
};

/**
 * A `clm` {@link Feed} of the windows at `indices`.
 * @example lmFeed(w, [3, 7])
 */
export const lmFeed = (w: LmWindows, indices: readonly number[]): Feed => {
  const S = w.seqLength;
  const W = S + 1;
  const B = indices.length;
  const ids = new Int32Array(B * S);
  const mask = new Int32Array(B * S);
  const labels = new Int32Array(B * S);
  const weights = new Float32Array(B * S);
  indices.forEach((wi, b) => {
    for (let j = 0; j < S; j++) {
      ids[b * S + j] = w.ids[wi * W + j] as number;
      mask[b * S + j] = w.real[wi * W + j] as number;
      labels[b * S + j] = w.ids[wi * W + j + 1] as number;
      weights[b * S + j] = (w.real[wi * W + j] as number) & (w.real[wi * W + j + 1] as number);
    }
  });
  return {
    inputs: { [INPUTS.ids]: int32([B, S], ids), [INPUTS.mask]: int32([B, S], mask) },
    targets: { labels: int32([B, S], labels), weights: float32([B, S], weights) },
    tokens: B * S,
  };
};
