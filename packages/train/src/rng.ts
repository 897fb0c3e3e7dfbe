/**
 * A small, seedable, serialisable pseudo-random generator (xoshiro128** by Blackman and Vigna,
 * 32-bit words, seeded through splitmix32) for everything the trainer randomises on the host:
 * data order, masking, dropout seeds. Its whole state is four uint32s, so a checkpoint can store
 * it in `state.json` and a resumed run continues the exact same sequence.
 *
 * @example
 * ```ts
 * const rng = createRng(deriveSeed(42, 'data', 'shuffle'));
 * const order = rng.shuffle([0, 1, 2, 3, 4]);
 * const saved = rng.state();                 // JSON-safe
 * const again = rngFromState(saved);         // Either<RngError, Rng>, continues the same stream
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';

/**
 * The name stored in {@link RngState.algorithm}.
 * @example createRng(1).state().algorithm === RNG_ALGORITHM // true
 */
export const RNG_ALGORITHM = 'xoshiro128**';

/**
 * The full, JSON-serialisable state of an {@link Rng}.
 * @example { algorithm: 'xoshiro128**', s: [2654435769, 1, 42, 7] }
 */
export interface RngState {
  readonly algorithm: typeof RNG_ALGORITHM;
  /** Four uint32 words, not all zero. */
  readonly s: readonly [number, number, number, number];
}

/**
 * Why an {@link RngState} could not be restored.
 * @example { _tag: 'RngError', message: 'invalid RNG state: "s" must not be all zero' }
 */
export interface RngError {
  readonly _tag: 'RngError';
  readonly message: string;
}

/**
 * A mutable generator; every method advances it.
 * @example const rng = createRng(42); const i = rng.nextInt(10); const saved = rng.state();
 */
export interface Rng {
  /** A uniform uint32 in [0, 2³²). */
  nextUint32(): number;
  /** A uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number;
  /** A uniform integer in [0, n) for an integer 1 ≤ n ≤ 2³², without modulo bias. */
  nextInt(n: number): number;
  /** A standard normal sample (Box–Muller; uses two floats). */
  nextNormal(): number;
  /** Shuffles `xs` in place (Fisher–Yates) and returns it. */
  shuffle<T>(xs: T[]): T[];
  /** A snapshot of the state; restoring it with {@link rngFromState} replays what follows. */
  state(): RngState;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** splitmix32 step: returns [output, next state]. */
const splitmix32 = (state: number): [number, number] => {
  const next = (state + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [(z ^ (z >>> 16)) >>> 0, next];
};

const fromWords = (init: readonly [number, number, number, number]): Rng => {
  let [s0, s1, s2, s3] = init;
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 = (s2 ^ s0) >>> 0;
    s3 = (s3 ^ s1) >>> 0;
    s1 = (s1 ^ s2) >>> 0;
    s0 = (s0 ^ s3) >>> 0;
    s2 = (s2 ^ t) >>> 0;
    s3 = rotl(s3, 11);
    return result;
  };
  const nextFloat = (): number => ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / 9007199254740992;
  const nextInt = (n: number): number => {
    if (!(Number.isInteger(n) && n >= 1 && n <= 2 ** 32)) throw new RangeError(`rng.nextInt: n must be an integer in [1, 2^32], got ${n}`);
    // Reject the top partial bucket so every residue is equally likely.
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = nextUint32();
      if (x < limit) return x % n;
    }
  };
  const nextNormal = (): number => {
    const u = 1 - nextFloat(); // (0, 1]
    const v = nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = nextInt(i + 1);
      const tmp = xs[i] as T;
      xs[i] = xs[j] as T;
      xs[j] = tmp;
    }
    return xs;
  };
  return { nextUint32, nextFloat, nextInt, nextNormal, shuffle, state: () => ({ algorithm: RNG_ALGORITHM, s: [s0, s1, s2, s3] }) };
};

const toUint32Pair = (seed: number): [number, number] => {
  const lo = seed >>> 0;
  const hi = Math.floor(Math.abs(seed) / 2 ** 32) >>> 0;
  return [lo, (hi ^ (seed < 0 ? 0xffffffff : 0)) >>> 0];
};

/**
 * A generator seeded from an integer (any safe integer; negative ones are fine). Equal seeds give
 * equal streams on every platform.
 * @example createRng(1).nextUint32() === createRng(1).nextUint32() // true
 */
export const createRng = (seed: number): Rng => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`createRng: seed must be a safe integer, got ${seed}`);
  const [lo, hi] = toUint32Pair(seed);
  let st = (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [out, next] = splitmix32(st);
    words.push(out);
    st = next;
  }
  if (!words.some((w) => w !== 0)) words[0] = 1; // the all-zero state is a fixed point
  return fromWords(words as unknown as [number, number, number, number]);
};

/**
 * Restores a generator from a state produced by {@link Rng.state} (e.g. parsed from JSON), with a
 * readable error for anything else.
 * @example rngFromState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] }) // right(rng)
 */
export const rngFromState = (state: unknown): E.Either<RngError, Rng> => {
  const err = (why: string): E.Either<RngError, Rng> => E.left({ _tag: 'RngError', message: `invalid RNG state: ${why}` });
  if (typeof state !== 'object' || state === null) return err(`expected an object, got ${JSON.stringify(state)}`);
  const { algorithm, s } = state as { algorithm?: unknown; s?: unknown };
  if (algorithm !== RNG_ALGORITHM) return err(`algorithm must be "${RNG_ALGORITHM}", got ${JSON.stringify(algorithm)}`);
  if (!Array.isArray(s) || s.length !== 4 || !s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff))
    return err(`"s" must be four uint32 integers, got ${JSON.stringify(s)}`);
  if (s.every((w) => w === 0)) return err('"s" must not be all zero');
  return E.right(fromWords(s as unknown as [number, number, number, number]));
};

/**
 * A uint32 seed derived from a parent seed and labels, so independent streams (data order,
 * masking, dropout, per-epoch) never share a sequence: `deriveSeed(seed, 'mask', epoch)`.
 * Deterministic across platforms; different labels (or label orders) give unrelated seeds.
 * @example deriveSeed(42, 'data') !== deriveSeed(42, 'mask') // true
 */
export const deriveSeed = (seed: number, ...labels: ReadonlyArray<string | number>): number => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`deriveSeed: seed must be a safe integer, got ${seed}`);
  const [lo, hi] = toUint32Pair(seed);
  let h = 0x811c9dc5 ^ lo;
  const mix = (x: number): void => {
    // murmur3-style block mix
    let k = Math.imul(x >>> 0, 0xcc9e2d51);
    k = rotl(k >>> 0, 15);
    k = Math.imul(k, 0x1b873593);
    h = (h ^ k) >>> 0;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  };
  mix(hi);
  for (const label of labels) {
    const text = typeof label === 'number' ? `#${label}` : `$${label}`;
    mix(text.length);
    for (let i = 0; i < text.length; i++) mix(text.charCodeAt(i));
  }
  // murmur3 finaliser
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
};
