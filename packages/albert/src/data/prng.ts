/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) so that every random choice in the
 * data pipeline is reproducible from one integer. `Math.random` is never used.
 * @module
 */

/**
 * A seeded random source; `state()`/`fromState` let a consumer stop and resume the stream exactly.
 * @example
 * const r: Rng = rng(42); r.next(); r.int(0, 9);
 */
export interface Rng {
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  readonly next: () => number;
  /** Uniform integer in [lo, hi] (both inclusive), like Python's `random.randint`. */
  readonly int: (lo: number, hi: number) => number;
  /** The four 32-bit words of the generator state. */
  readonly state: () => readonly [number, number, number, number];
}

const splitmix32 = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
};

/**
 * Restores a generator from {@link Rng.state}.
 * @example
 * const a = rng(7); a.next(); const b = rngFromState(a.state()); // a.next() === b.next()
 */
export const rngFromState = (st: readonly [number, number, number, number]): Rng => {
  let [a, b, c, d] = st.map((x) => x >>> 0) as [number, number, number, number];
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  const u32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
  const next = (): number => u32() / 4294967296;
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, state: () => [a >>> 0, b >>> 0, c >>> 0, d >>> 0] };
};

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/**
 * A xoshiro128** generator seeded from an integer (and optional stream ids mixed into the seed).
 * @example
 * const r = rng(42); r.int(1, 6); // a die roll, the same on every run
 * rng(42, 3).next() !== rng(42, 4).next(); // independent streams per shard/epoch
 */
export const rng = (seed: number, ...streams: number[]): Rng => {
  let s = seed >>> 0;
  for (const x of streams) s = (splitmix32(s ^ Math.imul(x + 1, 0x27d4eb2d))() ^ x) >>> 0;
  const sm = splitmix32(s);
  return rngFromState([sm(), sm(), sm(), sm()]);
};

/**
 * Shuffles an array in place (Fisher–Yates) with the given generator and returns it.
 * @example
 * shuffleInPlace([1, 2, 3, 4], rng(0)); // a fixed permutation for seed 0
 */
export const shuffleInPlace = <T>(xs: T[], r: Rng): T[] => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    const t = xs[i] as T;
    xs[i] = xs[j] as T;
    xs[j] = t;
  }
  return xs;
};

/**
 * A stable 32-bit FNV-1a hash of a string, mixed with a seed: used to assign documents to the
 * evaluation split independently of corpus order and size.
 * @example
 * hashString('1989_george_bush_r', 0) === hashString('1989_george_bush_r', 0); // true
 */
export const hashString = (s: string, seed = 0): number => {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return splitmix32(h)();
};
