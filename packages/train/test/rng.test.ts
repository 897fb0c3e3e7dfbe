import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { createRng, deriveSeed, rngFromState, type Rng } from '../src/rng.js';

const restore = (s: unknown): Rng => {
  const r = rngFromState(s);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('xoshiro128**', () => {
  it('matches the reference algorithm from state [1, 2, 3, 4]', () => {
    // Worked by hand from the reference C code: out = rotl(s1·5, 7)·9.
    // step 1: rotl(10, 7)·9 = 1280·9 = 11520; state → [7, 0, 1026, 12288]
    // step 2: s1 = 0 → 0; state → [12295, 1029, 1026, 25165824]
    // step 3: rotl(5145, 7)·9 = 658560·9 = 5927040
    const r = restore({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] });
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([11520, 0, 5927040]);
  });

  it('law: restoring a saved state (through JSON) reproduces the same sequence', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.nat(50), fc.integer({ min: 1, max: 50 }), (seed, skip, take) => {
        const a = createRng(seed);
        for (let i = 0; i < skip; i++) a.nextUint32();
        const b = restore(JSON.parse(JSON.stringify(a.state())));
        const xs = Array.from({ length: take }, () => [a.nextUint32(), a.nextFloat(), a.nextInt(7)]);
        const ys = Array.from({ length: take }, () => [b.nextUint32(), b.nextFloat(), b.nextInt(7)]);
        expect(ys).toEqual(xs);
      }),
      { numRuns: 100 },
    );
  });

  it('is deterministic per seed and differs between seeds', () => {
    const seq = (seed: number) => {
      const r = createRng(seed);
      return Array.from({ length: 8 }, () => r.nextUint32());
    };
    expect(seq(42)).toEqual(seq(42));
    expect(seq(42)).not.toEqual(seq(43));
    expect(seq(0)).not.toEqual(seq(-1));
    expect(seq(2 ** 40)).not.toEqual(seq(0));
  });

  it('produces values in range with plausible uniformity', () => {
    const r = createRng(7);
    const counts = [0, 0, 0, 0, 0];
    let sum = 0;
    let sumSq = 0;
    let outOfRange = 0;
    for (let i = 0; i < 20000; i++) {
      const f = r.nextFloat();
      if (!(f >= 0 && f < 1)) outOfRange++;
      const k = r.nextInt(5);
      counts[k]!++;
      const z = r.nextNormal();
      sum += z;
      sumSq += z * z;
    }
    expect(outOfRange).toBe(0);
    for (const c of counts) expect(Math.abs(c - 4000)).toBeLessThan(300); // ~5 sigma
    expect(Math.abs(sum / 20000)).toBeLessThan(0.05);
    expect(Math.abs(sumSq / 20000 - 1)).toBeLessThan(0.06);
    expect(r.nextInt(1)).toBe(0);
    expect(() => r.nextInt(0)).toThrow('n must be an integer in [1, 2^32]');
  });

  it('shuffles into a permutation, reproducibly', () => {
    const a = createRng(3).shuffle(Array.from({ length: 50 }, (_, i) => i));
    const b = createRng(3).shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('rejects malformed states with a readable message', () => {
    const msg = (s: unknown) => {
      const r = rngFromState(s);
      return E.isLeft(r) ? r.left.message : 'ok';
    };
    expect(msg(null)).toBe('invalid RNG state: expected an object, got null');
    expect(msg({ algorithm: 'mt19937', s: [1, 2, 3, 4] })).toBe('invalid RNG state: algorithm must be "xoshiro128**", got "mt19937"');
    expect(msg({ algorithm: 'xoshiro128**', s: [1, 2, 3] })).toBe('invalid RNG state: "s" must be four uint32 integers, got [1,2,3]');
    expect(msg({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0] })).toBe('invalid RNG state: "s" must not be all zero');
    expect(msg({ algorithm: 'xoshiro128**', s: [1, 2, 3, 2 ** 32] })).toContain('four uint32 integers');
  });
});

describe('deriveSeed', () => {
  it('is deterministic, label-sensitive and order-sensitive', () => {
    expect(deriveSeed(42, 'data')).toBe(deriveSeed(42, 'data'));
    const seeds = new Set([
      deriveSeed(42),
      deriveSeed(42, 'data'),
      deriveSeed(42, 'mask'),
      deriveSeed(43, 'data'),
      deriveSeed(42, 'a', 'b'),
      deriveSeed(42, 'b', 'a'),
      deriveSeed(42, 'ab'),
      deriveSeed(42, 1),
      deriveSeed(42, '1'),
      deriveSeed(42, 'data', 0),
      deriveSeed(42, 'data', 1),
    ]);
    expect(seeds.size).toBe(11);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });

  it('law: distinct epoch labels give distinct seeds (no collisions over 2000 epochs)', () => {
    const s = new Set(Array.from({ length: 2000 }, (_, e) => deriveSeed(1234, 'epoch', e)));
    expect(s.size).toBe(2000);
  });
});
