/**
 * Data for `token-classify`: tagged words (see `parseTaggedText`) encoded as `[CLS] pieces [SEP]`,
 * cut to the sequence length. Each word's label goes on its first piece; its other pieces,
 * `[CLS]`, `[SEP]` and padding have weight 0. A batch gives `input_ids`, `attention_mask`,
 * `token_type_ids` (zeros) and the targets `labels` `[B, S]` and `weights` `[B, S]`.
 *
 * @example
 * ```ts
 * const enc = encodeTagged(tok, examples, ['B-LOC', 'O'], 32);
 * if (E.isRight(enc)) taggedFeed(enc.right, [0, 1]); // a Feed of the first two examples
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { INPUTS, type Tokenizer } from '@lamina/albert';
import { float32, int32, type Feed } from '../core/step.js';
import type { TaggedExample } from '../finetune/data.js';

/**
 * Encoded tagged examples, `count × seqLength` each.
 * @example E.map((d: EncodedTagged) => d.count)(encodeTagged(tok, xs, labels, 32))
 */
export interface EncodedTagged {
  readonly seqLength: number;
  readonly count: number;
  readonly ids: Int32Array;
  readonly mask: Int32Array;
  readonly labels: Int32Array;
  readonly weights: Float32Array;
}

/**
 * The label set of tagged examples (sorted by code unit; index i is class i).
 * @example taggedLabelSet([{ tokens: ['a'], labels: ['O'] }]) // ['O']
 */
export const taggedLabelSet = (xs: readonly TaggedExample[]): string[] => [...new Set(xs.flatMap((x) => x.labels))].sort();

/**
 * Encodes tagged examples (see the module comment); a label not in `labels` is an error naming
 * the example.
 * @example encodeTagged(tok, [{ tokens: ['Paris'], labels: ['LOC'] }], ['LOC', 'O'], 8)
 */
export const encodeTagged = (tok: Tokenizer, xs: readonly TaggedExample[], labels: readonly string[], seqLength: number, name = 'data'): E.Either<string, EncodedTagged> => {
  const S = seqLength;
  const n = xs.length;
  const ids = new Int32Array(n * S).fill(tok.special.pad);
  const mask = new Int32Array(n * S);
  const lab = new Int32Array(n * S);
  const weights = new Float32Array(n * S);
  const index = new Map(labels.map((l, i) => [l, i]));
  for (let e = 0; e < n; e++) {
    const x = xs[e] as TaggedExample;
    const row: number[] = [tok.special.cls];
    const rowLab: number[] = [0];
    const rowW: number[] = [0];
    for (let w = 0; w < x.tokens.length && row.length < S - 1; w++) {
      const c = index.get(x.labels[w] as string);
      if (c === undefined) return E.left(`${name}: example ${e + 1} has the label ${JSON.stringify(x.labels[w]).slice(0, 40)}, which the training data does not have`);
      const pieces = tok.tokenize(x.tokens[w] as string);
      pieces.slice(0, S - 1 - row.length).forEach((p, j) => {
        row.push(p);
        rowLab.push(j === 0 ? c : 0);
        rowW.push(j === 0 ? 1 : 0);
      });
    }
    row.push(tok.special.sep);
    rowLab.push(0);
    rowW.push(0);
    row.forEach((p, j) => {
      ids[e * S + j] = p;
      mask[e * S + j] = 1;
      lab[e * S + j] = rowLab[j] as number;
      weights[e * S + j] = rowW[j] as number;
    });
  }
  return E.right({ seqLength: S, count: n, ids, mask, labels: lab, weights });
};

/**
 * A `token-classify` {@link Feed} of the examples at `indices`.
 * @example taggedFeed(enc, [0, 3])
 */
export const taggedFeed = (d: EncodedTagged, indices: readonly number[]): Feed => {
  const S = d.seqLength;
  const B = indices.length;
  const pick = <T extends Int32Array | Float32Array>(src: T, dst: T): T => {
    indices.forEach((i, b) => dst.set(src.subarray(i * S, (i + 1) * S), b * S));
    return dst;
  };
  return {
    inputs: { [INPUTS.ids]: int32([B, S], pick(d.ids, new Int32Array(B * S))), [INPUTS.mask]: int32([B, S], pick(d.mask, new Int32Array(B * S))), [INPUTS.tokenTypes]: int32([B, S], new Int32Array(B * S)) },
    targets: { labels: int32([B, S], pick(d.labels, new Int32Array(B * S))), weights: float32([B, S], pick(d.weights, new Float32Array(B * S))) },
    tokens: B * S,
  };
};
