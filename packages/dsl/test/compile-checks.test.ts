// `compile` keeps its promise: it validates before anything runs and never throws; the compiled
// function refuses inputs the model does not read or cannot take, with a readable message.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import {
  compile,
  dense,
  embedding,
  formatModelError,
  gatherPositions,
  init,
  layerNorm,
  ModelInputError,
  multiHeadAttention,
  named,
  repeat,
  seq,
  shared,
  tensorSig,
  tokenTypeEmbedding,
  unwrap,
  type Node,
} from '../src/index.js';

const leftOf = <A>(r: E.Either<{ path: string; message: string; _tag: 'ModelError' }, A>): string => {
  expect(E.isLeft(r)).toBe(true);
  return E.isLeft(r) ? formatModelError(r.left) : '';
};

const thrown = (f: () => unknown): ModelInputError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelInputError);
    return e as ModelInputError;
  }
  throw new Error('expected a ModelInputError, nothing was thrown');
};

describe('compile runs shape inference before anything is built', () => {
  it('a mis-dimensioned model is a Left naming the path (features, no inputs declared)', () => {
    const m: Node = { kind: 'seq', layers: [dense(4, 16), dense(32, 2)] };
    expect(leftOf(compile(m))).toMatch(/^dense_1: expected last dim 32, got 16/);
  });

  it('deep inside a shared, repeated block after an embedding', () => {
    const block: Node = { kind: 'seq', layers: [named('attention', multiHeadAttention(16, 2)), named('norm', layerNorm(32))] };
    const m: Node = { kind: 'seq', layers: [embedding(10, 16), repeat(shared(block, 'encoder'), 2)] };
    expect(leftOf(compile(m))).toMatch(/^encoder\.norm: expected last dim 32, got 16/);
  });

  it('against declared inputs: a sequence longer than the position table, a misspelled declared name', () => {
    const m: Node = { kind: 'seq', layers: [embedding(10, 8), named('pos', { kind: 'positionalEmbedding', maxLen: 4, dim: 8, initStd: 0.02 })] };
    expect(leftOf(compile(m, { inputs: { input: tensorSig([null, 9], 'int32') } }))).toMatch(/sequence length 9 exceeds maxLen 4/);
    const a = seq(embedding(10, 8), multiHeadAttention(8, 2));
    expect(leftOf(compile(a, { inputs: { input: tensorSig([null, 5], 'int32'), attention_maks: tensorSig([null, 5], 'int32') } }))).toMatch(
      /unknown input "attention_maks" \(did you mean "attention_mask"\?\): this model reads input \(main input\) and attention_mask/,
    );
    expect(E.isRight(compile(a, { inputs: { input: tensorSig([null, 5], 'int32'), attention_mask: tensorSig([null, 5], 'int32') } }))).toBe(true);
  });

  it('a valid model still compiles with nothing declared', () => {
    expect(E.isRight(compile(seq(embedding(10, 8), tokenTypeEmbedding(2, 8), multiHeadAttention(8, 2), gatherPositions('pos'), dense(8, 3))))).toBe(true);
    expect(E.isRight(compile(seq(dense(3, 4), dense(4, 2))))).toBe(true);
  });
});

describe('the compiled function checks its inputs before any op runs', () => {
  const model = seq(embedding(10, 8), tokenTypeEmbedding(2, 8), multiHeadAttention(8, 2));
  const params = unwrap(init(model, 0));
  const f = unwrap(compile(model));
  const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');

  it('a misspelled side input is an error naming the expected ones (not a silently unmasked run)', () => {
    const e = thrown(() => f(params, { input: ids, attention_maks: tf.ones([1, 3], 'int32') }));
    expect(e.message).toBe(
      'unknown input "attention_maks" (did you mean "attention_mask"?): this model reads input (main input) and token_type_ids (token type ids [batch, seq]), attention_mask (0/1 attention mask [batch, seq] or [batch, seq, seq])',
    );
    expect(thrown(() => f(params, { input: ids, labels: ids })).message).toMatch(/^unknown input "labels": this model reads/);
  });

  it('a wrong-rank or mis-shaped side input is a readable error, not Invalid TF_Status', () => {
    expect(thrown(() => f(params, { input: ids, attention_mask: tf.ones([1, 3, 3, 1], 'int32') })).message).toBe(
      'attention_0: side input "attention_mask" must have rank 2 or 3, got [1, 3, 3, 1]',
    );
    expect(thrown(() => f(params, { input: ids, attention_mask: tf.ones([1, 4], 'int32') })).message).toMatch(/does not fit the sequence length 3/);
    expect(thrown(() => f(params, { input: ids, token_type_ids: tf.zeros([1, 3]) })).message).toMatch(/must be int32 token type ids \[batch, seq\], got float32/);
    expect(thrown(() => f(params, { input: tf.ones([1, 3]) })).message).toMatch(/^embedding_0: expected int32 ids, got float32/);
    expect(thrown(() => f(params, { ids })).message).toMatch(/missing main input "input"/);
  });

  it('good inputs run, and ignoreInputs lets a known extra field through', () => {
    const y = f(params, { input: ids, attention_mask: tf.ones([1, 3], 'int32') }) as tf.Tensor;
    expect(y.shape).toEqual([1, 3, 8]);
    const g = unwrap(compile(model, { ignoreInputs: ['labels'] }));
    expect((g(params, { input: ids, labels: ids }) as tf.Tensor).shape).toEqual([1, 3, 8]);
  });
});
