// Type-level claims, checked by `tsc --noEmit` (part of the test command): each `@ts-expect-error`
// line must fail to compile, or tsc reports the directive as unused and the suite fails.
import { describe, expect, it } from 'vitest';
import { dense, embedding, factorize, layerNorm, multiHeadAttention, relu, repeat, residual, seq, shared, tiedUnembed, type Layer } from '../src/index.js';

describe('literal dims are checked at compile time', () => {
  it('well-typed compositions carry their signatures', () => {
    const mlp: Layer<4, 2> = seq(dense(4, 8), relu, dense(8, 2));
    const albertish: Layer<'ids', 768> = seq(factorize(30000, 128, 768), repeat(shared(seq(residual(multiHeadAttention(768, 12)), layerNorm(768))), 12));
    expect(mlp.kind).toBe('seq');
    expect(albertish.kind).toBe('seq');
  });

  it('an unrolled stack: seq(...blocks) over an array of layers type-checks without a cast', () => {
    const block = seq(residual(dense(8, 8)), layerNorm(8));
    const blocks = Array.from({ length: 4 }, () => block);
    const stack: Layer<8, 8> = seq(...blocks);
    const model: Layer<'ids', 2> = seq(embedding(100, 8), ...blocks, dense(8, 2));
    // @ts-expect-error — an array of 8 → 16 layers is not a stack: 16 does not fit 8
    seq(...Array.from({ length: 2 }, () => dense(8, 16)));
    // @ts-expect-error — an embedding of width 16 before a stack of width 8
    seq(embedding(100, 16), ...blocks);
    expect(stack.kind).toBe('seq');
    expect(model.kind === 'seq' && model.layers.length).toBe(6);
  });

  it('mis-compositions do not compile', () => {
    // 1. a [*, 128] output into a [*, 768] input
    // @ts-expect-error — dense(128 → …) after an embedding of width 128 is fine, but 768 is not
    seq(embedding(30000, 128), dense(768, 768));
    // 2. a projection output that does not match the next layer norm
    // @ts-expect-error — factorize ends at H = 768, layerNorm expects 1024
    seq(factorize(30000, 128, 768), layerNorm(1024));
    // 3. a mismatch hidden in the middle of a chain, after shape-preserving layers
    // @ts-expect-error — relu keeps 8; dense(9, …) expects 9
    seq(dense(4, 8), relu, dense(9, 2));
    // 4. a residual whose body changes the width
    // @ts-expect-error — residual needs [*, D] → [*, D]
    residual(dense(8, 16));
    // 5. a tied decoder at the wrong width
    const words = shared(embedding(100, 16), 'words');
    // @ts-expect-error — the decoder of a 16-wide embedding cannot read 32-wide features
    seq(dense(4, 32), tiedUnembed(words));
    expect(true).toBe(true);
  });

  it('dims known only at run time degrade to number and compose', () => {
    const width = Number('8');
    const m = seq(dense(4, width), dense(width, 2));
    expect(m.kind).toBe('seq');
  });
});
