import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { INPUTS } from '@lamina/albert';
import { lmFeed, packWindows } from '../src/run/lm-data.js';

const arbCase = fc.record({
  stream: fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 60 }),
  seqLength: fc.integer({ min: 1, max: 9 }),
  maxWindows: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 8 })),
});

/** The (input, next-token) pairs a feed of every window trains on, in order. */
const pairsOf = (stream: readonly number[], seqLength: number, maxWindows: number): [number, number][] => {
  const w = packWindows(stream, seqLength, 0, maxWindows);
  const f = lmFeed(w, Array.from({ length: w.count }, (_, i) => i));
  const ids = f.inputs[INPUTS.ids]?.data as Int32Array;
  const labels = f.targets['labels']?.data as Int32Array;
  const weights = f.targets['weights']?.data as Float32Array;
  const out: [number, number][] = [];
  for (let i = 0; i < weights.length; i++) if (weights[i] === 1) out.push([ids[i] as number, labels[i] as number]);
  return out;
};

describe('packWindows + lmFeed', () => {
  it('follows the worked example', () => {
    const w = packWindows([5, 6, 7, 8], 2, 0);
    expect(w.count).toBe(2);
    expect([...w.ids]).toEqual([5, 6, 7, 7, 8, 0]);
    expect([...w.real]).toEqual([1, 1, 1, 1, 1, 0]);
    expect(w.tokens).toBe(4);
  });

  it('predicts every token after the first exactly once, in stream order', () => {
    fc.assert(
      fc.property(arbCase, ({ stream, seqLength }) => {
        const expected = stream.slice(1).map((next, i) => [stream[i] as number, next]);
        expect(pairsOf(stream, seqLength, Infinity)).toEqual(expected);
      }),
    );
  });

  it('with a window limit, trains on a prefix of those pairs, and counts the tokens it covers', () => {
    fc.assert(
      fc.property(arbCase, ({ stream, seqLength, maxWindows }) => {
        const w = packWindows(stream, seqLength, 0, maxWindows);
        const all = pairsOf(stream, seqLength, Infinity);
        const some = pairsOf(stream, seqLength, maxWindows);
        expect(some).toEqual(all.slice(0, some.length));
        expect(w.count).toBeLessThanOrEqual(maxWindows);
        expect(w.tokens).toBe(w.count === 0 ? Math.min(stream.length, 1) : some.length + 1);
        // padding is the pad id and never real
        for (let i = 0; i < w.ids.length; i++) if (w.real[i] === 0) expect(w.ids[i]).toBe(0);
      }),
    );
  });
});
