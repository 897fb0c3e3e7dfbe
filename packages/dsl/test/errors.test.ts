// Misuse gives a clear, path-located error value — never undefined, a throw or a tfjs stack trace.
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import {
  compile,
  countParams,
  decodeModel,
  dense,
  embedding,
  fanout,
  flops,
  formatModelError,
  identity,
  inferShape,
  init,
  layerNorm,
  multiHeadAttention,
  named,
  parseModel,
  repeat,
  seq,
  shared,
  tensorSig,
  tiedUnembed,
  type Node,
} from '../src/index.js';

const leftMessage = <A>(r: E.Either<{ message: string; path?: string }, A>): string => {
  expect(E.isLeft(r)).toBe(true);
  return E.isLeft(r) ? (r.left.path !== undefined ? formatModelError(r.left as never) : r.left.message) : '';
};

describe('shape errors name the path of the offending node', () => {
  it('a width mismatch inside a shared, repeated block', () => {
    const block = seq(named('attention', multiHeadAttention(768, 12)), layerNorm(768));
    // (built untyped: with literal dims, TypeScript already refuses this composition)
    const model: Node = { kind: 'seq', layers: [seq(embedding(100, 128)), repeat(shared(block, 'encoder'), 3)] };
    expect(leftMessage(inferShape(model, tensorSig([2, 16], 'int32')))).toBe(
      'encoder.attention: expected last dim 768, got 128 (input [2, 16, 128])',
    );
  });

  it('ids fed to a dense layer, features fed to an embedding', () => {
    expect(leftMessage(inferShape(dense(4, 2), tensorSig([3, 4], 'int32')))).toMatch(/^dense_0: expected float32 features .* got int32 ids/);
    expect(leftMessage(inferShape(embedding(10, 4), tensorSig([3, 4])))).toMatch(/^embedding_0: expected int32 ids, got float32/);
  });

  it('a fanout that is not last', () => {
    const m = { kind: 'seq', layers: [fanout({ a: identity }), dense(4, 4)] } as Node;
    expect(leftMessage(inferShape(m, tensorSig([1, 4])))).toMatch(/^dense_0: expected a tensor, got named outputs \{a\}/);
  });

  it('attention without a sequence axis, and a missing required side input', () => {
    expect(leftMessage(inferShape(multiHeadAttention(8, 2), tensorSig([2, 8])))).toMatch(/expected \[batch, seq, 8\], got \[2, 8\]/);
    const g = { kind: 'gather', input: 'masked_lm_positions' } as Node;
    expect(leftMessage(inferShape(g, tensorSig([2, 5, 8])))).toMatch(/needs the side input "masked_lm_positions"/);
  });
});

describe('bad sizes and names are errors at the node', () => {
  it('negative, zero and fractional sizes', () => {
    expect(leftMessage(countParams(dense(4, -3)))).toBe('dense_0: outDim must be a positive integer, got -3');
    expect(leftMessage(countParams(seq(dense(4, 4), repeat(dense(4, 4), 0))))).toBe('repeat: times must be a positive integer, got 0');
    expect(leftMessage(inferShape(embedding(2.5, 4), tensorSig([1], 'int32')))).toBe('embedding_0: vocab must be a positive integer, got 2.5');
  });

  it('an unknown activation (e.g. from hand-written JSON) is reported, not undefined', () => {
    const bad = { kind: 'activation', fn: 'swish' } as unknown as Node;
    expect(leftMessage(inferShape(bad, tensorSig([1, 2])))).toBe('activation: unknown activation "swish" (known: identity, gelu, gelu_new, relu, tanh, softmax)');
    expect(leftMessage(compile(bad))).toMatch(/unknown activation "swish"/);
  });

  it('two different layers under one shared name', () => {
    const m = seq(shared(dense(4, 4), 'x'), shared(dense(4, 4, { activation: 'relu' }), 'x')) as Node;
    expect(leftMessage(countParams(m))).toMatch(/two different layers are shared under the name "x"/);
  });

  it('two unshared layers claiming one parameter path', () => {
    const m = seq(named('proj', dense(4, 4)), named('proj', dense(4, 4))) as Node;
    expect(leftMessage(init(m, 0))).toMatch(/parameter path "proj.kernel" is claimed by two different layers/);
  });

  it('a tied decoder whose embedding is missing or of another size', () => {
    const words = shared(embedding(50, 8), 'words');
    const lonely = tiedUnembed(words) as Node;
    expect(leftMessage(countParams(lonely))).toMatch(/ties to shared "words", which is not a shared embedding in the model/);
    const other = shared(embedding(60, 8), 'words');
    const wrong = seq(other, tiedUnembed(words) as never) as Node;
    expect(leftMessage(countParams(wrong))).toMatch(/expects an embedding 50×8, shared "words" is 60×8/);
  });

  it('FLOPs need concrete dims', () => {
    expect(leftMessage(flops(dense(4, 4), tensorSig([null, 4])))).toMatch(/FLOPs need concrete dims/);
  });
});

describe('decoding bad JSON is a readable error, never a throw', () => {
  it.each([
    [{ kind: 'dense', inDim: 'x', outDim: 3, bias: true, activation: 'relu', initStd: 0.02 }, 'inDim: expected number, got "x"'],
    [{ kind: 'conv2d' }, 'kind: expected one of dense, embedding'],
    [{ kind: 'seq', layers: [{ kind: 'identity' }, { kind: 'dense', inDim: 1 }] }, 'layers[1].outDim: expected number, got nothing'],
    [{ kind: 'repeat', times: 2, layer: { kind: 'activation', fn: 'swish' } }, 'layer.fn: expected "identity" | "gelu"'],
    [42, '(root): expected a layer object, got 42'],
  ])('%j', (json, msg) => {
    expect(leftMessage(decodeModel(json))).toContain(msg);
  });

  it('malformed JSON text', () => {
    expect(leftMessage(parseModel('{"kind": "dense",'))).toMatch(/^not valid JSON/);
  });
});
