// Shared by the incremental decoders' law tests (test/incremental.test.ts, test/graph-decode.test.ts):
// random causal models and the row-wise closeness check of their logits.
import { expect } from 'vitest';
import fc from 'fast-check';
import { dense, embedding, fanout, layerNorm, multiHeadAttention, named, positionalEmbedding, residual, seq, shared, sinusoidalPositions, tiedUnembed, type Node } from '../src/index.js';
import { endoLayer } from './arbitraries.js';

/** The vocabulary of {@link causalModel}s. */
export const CAUSAL_VOCAB = 13;
const V = CAUSAL_VOCAB;
let names = 0;

/** A random causal model at width d: embeddings, a stack mixing causal attention and random position-wise layers, a head. */
export const causalModel = (d: number, heads: number): fc.Arbitrary<Node> => {
  const attn: Node = multiHeadAttention(d, heads, { causal: true, headSize: 2 });
  const part: fc.Arbitrary<Node> = fc.oneof(
    fc.constant<Node>(residual(attn as never)),
    fc.constant<Node>(residual(seq(layerNorm(d, 1e-5), attn as never) as never)),
    endoLayer(d, 1),
  );
  const block = fc.array(part, { minLength: 1, maxLength: 3 }).map((ls): Node => ({ kind: 'seq', layers: ls }));
  const stack = fc.oneof(
    block,
    fc.tuple(block, fc.integer({ min: 1, max: 3 })).map(([b, n]): Node => ({ kind: 'repeat', layer: { kind: 'shared', name: `blk${names++}`, layer: b }, times: n })),
    fc.tuple(block, fc.integer({ min: 1, max: 2 })).map(([b, n]): Node => named(`h${names++}`, { kind: 'repeat', layer: b, times: n } as never)),
  );
  const pos = fc.constantFrom<'learned' | 'sinusoid' | 'none'>('learned', 'sinusoid', 'none');
  return fc.tuple(pos, stack, fc.boolean()).map(([p, body, tied]): Node => {
    const wte = shared(embedding(V, d, { initStd: 0.5 }), `wte${names++}`);
    const positions: Node[] = p === 'learned' ? [named('wpe', positionalEmbedding(16, d, { initStd: 0.5 }))] : p === 'sinusoid' ? [sinusoidalPositions()] : [];
    const head: Node = tied ? fanout({ logits: tiedUnembed(wte as never) }) : named('lm_head', dense(d, V));
    return { kind: 'seq', layers: [wte, ...positions, body, layerNorm(d, 1e-5), head] };
  });
};

export const closeRows = (got: number[][], want: number[][]): void => {
  expect(got.length).toBe(want.length);
  got.forEach((row, i) => {
    const w = want[i] as number[];
    const scale = Math.max(1e-6, ...w.map(Math.abs));
    const err = row.reduce((m, x, j) => Math.max(m, Math.abs(x - (w[j] as number))), 0);
    // float32: the cache and the full window reduce attention over different lengths (masked
    // capacity vs the window), so sums round differently; 1e-5 of the largest logit was exceeded
    // by a random model in CI (2.6e-5 at scale 1.75), 1e-4 still catches any wrong position or mask
    expect(err, `row ${i}`).toBeLessThanOrEqual(1e-4 * scale);
  });
};
