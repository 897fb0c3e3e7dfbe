/**
 * Where parameters live: the one set of rules, shared by every interpreter, that turns a position
 * in a layer value into a parameter path, and the readable "where" of a node for error messages.
 *
 * Rules: `named(n, f)` puts `f`'s parameters under `n`; `shared(f, n)` under the global scope `n`
 * (whatever encloses it); the copies of a non-shared `repeat` under `0`, `1`, …; an unnamed
 * parameterised primitive gets a Keras-like segment `dense_0`, `dense_1`, … counted per scope.
 * `seq`, `branch` and `fanout` add no segment (a fanout's keys name outputs, not parameters).
 *
 * @example
 * ```ts
 * // seq(dense(2, 3), named('out', dense(3, 1)))  →  dense_0.kernel, dense_0.bias, out.kernel, out.bias
 * ```
 * @module
 */
/** Joins path segments with dots, skipping empty ones. */
export const joinPath = (...parts: readonly string[]): string => parts.filter((p) => p !== '').join('.');

/** The parameter scope a node is interpreted in. */
export interface Scope {
  /** Parameter path prefix. */
  readonly prefix: string;
  /** True when the node is directly wrapped by `named`/`shared`/a fanout key: it takes the prefix as its own. */
  readonly explicit: boolean;
  /** Per-scope counters for automatic segments (`dense_0`, …); shared by siblings of one scope. */
  readonly counters: Map<string, number>;
}

/** The root scope. */
export const rootScope = (): Scope => ({ prefix: '', explicit: false, counters: new Map() });

const auto = (s: Scope, kind: string): string => {
  const n = s.counters.get(kind) ?? 0;
  s.counters.set(kind, n + 1);
  return `${kind}_${n}`;
};

/** The parameter prefix of a parameterised primitive interpreted in scope `s`. */
export const primitivePrefix = (s: Scope, kind: string): string => (s.explicit ? s.prefix : joinPath(s.prefix, auto(s, kind)));

/** Scope of the children of `seq`/`branch` (siblings share counters). */
export const siblingScope = (s: Scope): Scope => (s.explicit ? { prefix: s.prefix, explicit: false, counters: new Map() } : s);

/** Scope of `named(name, ·)`'s body. */
export const namedScope = (s: Scope, name: string): Scope => ({ prefix: joinPath(s.prefix, name), explicit: true, counters: new Map() });

/** Scope of `shared(·, name)`'s body: global, whatever encloses it. */
export const sharedScope = (name: string): Scope => ({ prefix: name, explicit: true, counters: new Map() });

/** Scopes of the copies of a non-shared `repeat` interpreted in scope `s`. */
export const repeatScopes = (s: Scope, times: number): Scope[] => {
  const base = s.explicit ? s.prefix : joinPath(s.prefix, auto(s, 'repeat'));
  return Array.from({ length: times }, (_, i) => ({ prefix: joinPath(base, String(i)), explicit: false, counters: new Map() }));
};


/** Scope of a repeat's step signal: `<prefix>.step` under a name, else `step_0`, `step_1`, … per scope. */
export const stepScope = (s: Scope): Scope =>
  s.explicit ? namedScope(s, 'step') : { prefix: joinPath(s.prefix, auto(s, 'step')), explicit: true, counters: new Map() };
