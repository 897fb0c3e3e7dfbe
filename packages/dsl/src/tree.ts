/**
 * The one generic traversal of layer values: the combinator table (children, rebuilding, field
 * checks, where-strings, JSON keys), `children` / `mapChildren`, a pre-order `foldNodes`, and the
 * scope-aware walk `walkScoped` that every parameter-addressing interpreter shares. Combinators
 * are the core's; primitives are leaves here.
 *
 * @example
 * ```ts
 * foldNodes(model, 0, (n, node) => n + (node.kind === 'dense' ? 1 : 0)); // how many dense layers
 * ```
 * @module
 */
import { canonicalJson, innerEmbedding, type BranchNode, type CombinatorKind, type CombinatorNode, type FanoutNode, type NamedNode, type Node, type RepeatNode, type SeqNode, type SharedNode } from './layer.js';
import { joinPath, namedScope, primitivePrefix, repeatScopes, rootScope, sharedScope, siblingScope, stepScope, type Scope } from './paths.js';
import { isPrimitive, primitiveOf } from './primitives/index.js';
import { modelError, need, positive, type ModelError } from './sig.js';

/** A child of a combinator and its key (index, fanout output name, or 0 for a wrapper). */
export type Child = readonly [number | string, Node];

/** What the core knows about one combinator kind. */
export interface Combinator<N extends CombinatorNode> {
  /** Its children, in application order (a repeat's body once). */
  readonly children: (n: N) => readonly Child[];
  /** The same combinator over new children (same keys, same order). */
  readonly rebuild: (n: N, children: readonly Node[]) => N;
  /** Its own fields. */
  readonly check: (n: N) => string | undefined;
  /** The where-segment of a child, for messages. */
  readonly where: (n: N, key: number | string) => string;
  /** The JSON key of a child, for decode errors. */
  readonly jsonKey: (key: number | string) => string;
}

/** One entry per combinator kind; a missing one is a type error. */
export type CombinatorTable = { readonly [K in CombinatorKind]: Combinator<Extract<CombinatorNode, { readonly kind: K }>> };

const nameOk = (n: { readonly name: unknown }) => need(typeof n.name === 'string' && n.name !== '', 'name must be a non-empty string');

/** The combinators. */
export const COMBINATORS = {
  seq: {
    children: (n: SeqNode) => n.layers.map((l, i) => [i, l] as const),
    rebuild: (n: SeqNode, cs: readonly Node[]): SeqNode => ({ ...n, layers: cs }),
    check: (n: SeqNode) => need(n.layers.length > 0, 'seq needs at least one layer'),
    where: (_n: SeqNode, k: number | string) => `seq[${k}]`,
    jsonKey: (k: number | string) => `layers[${k}]`,
  },
  branch: {
    children: (n: BranchNode) => n.branches.map((l, i) => [i, l] as const),
    rebuild: (n: BranchNode, cs: readonly Node[]): BranchNode => ({ ...n, branches: cs }),
    check: (n: BranchNode) =>
      need(n.branches.length > 0, 'branch needs at least one branch') ?? need(n.merge === 'add' || n.merge === 'concat', `merge must be "add" or "concat", got "${n.merge}"`),
    where: (_n: BranchNode, k: number | string) => `branch[${k}]`,
    jsonKey: (k: number | string) => `branches[${k}]`,
  },
  repeat: {
    children: (n: RepeatNode): readonly Child[] => (n.step ? [['step', n.step], [0, n.layer]] : [[0, n.layer]]),
    rebuild: (n: RepeatNode, cs: readonly Node[]): RepeatNode => (n.step ? { ...n, step: cs[0] as RepeatNode['step'] & Node, layer: cs[1] as Node } : { ...n, layer: cs[0] as Node }),
    check: (n: RepeatNode) => positive('times', n.times),
    where: (_n: RepeatNode, k: number | string) => (k === 'step' ? 'repeat.step' : 'repeat'),
    jsonKey: (k: number | string) => (k === 'step' ? 'step' : 'layer'),
  },
  shared: {
    children: (n: SharedNode) => [[0, n.layer] as const],
    rebuild: (n: SharedNode, cs: readonly Node[]): SharedNode => ({ ...n, layer: cs[0] as Node }),
    check: nameOk,
    where: (n: SharedNode) => `shared(${n.name})`,
    jsonKey: () => 'layer',
  },
  named: {
    children: (n: NamedNode) => [[0, n.layer] as const],
    rebuild: (n: NamedNode, cs: readonly Node[]): NamedNode => ({ ...n, layer: cs[0] as Node }),
    check: nameOk,
    where: (n: NamedNode) => n.name,
    jsonKey: () => 'layer',
  },
  fanout: {
    children: (n: FanoutNode) => Object.entries(n.outputs),
    rebuild: (n: FanoutNode, cs: readonly Node[]): FanoutNode => ({ ...n, outputs: Object.fromEntries(Object.keys(n.outputs).map((k, i) => [k, cs[i] as Node])) }),
    check: (n: FanoutNode) => need(Object.keys(n.outputs).length > 0, 'fanout needs at least one output'),
    where: (_n: FanoutNode, k: number | string) => `fanout.${k}`,
    jsonKey: (k: number | string) => `outputs.${k}`,
  },
} as const satisfies CombinatorTable;

/** The combinator record of a combinator node. */
export const combinatorOf = (n: CombinatorNode): Combinator<CombinatorNode> => COMBINATORS[n.kind] as unknown as Combinator<CombinatorNode>;

/**
 * The children of a node (none for a primitive).
 * @example children(seq(dense(2, 3), relu)).length // 2
 */
export const children = (n: Node): readonly Child[] => (isPrimitive(n) ? [] : combinatorOf(n).children(n));

/**
 * The same node with `f` applied to each child.
 * @example mapChildren(model, (c) => c) // equal to model
 */
export const mapChildren = (n: Node, f: (child: Node, key: number | string) => Node): Node =>
  isPrimitive(n) ? n : combinatorOf(n).rebuild(n, combinatorOf(n).children(n).map(([k, c]) => f(c, k)));

/**
 * Pre-order fold over every node of a tree (a repeat's body and a shared body once per occurrence).
 * @example foldNodes(model, 0, (a) => a + 1) // number of nodes
 */
export const foldNodes = <A>(n: Node, acc: A, f: (acc: A, n: Node) => A): A => children(n).reduce((a, [, c]) => foldNodes(c, a, f), f(acc, n));

/**
 * A node's own-field problem, if any (primitive or combinator).
 * @example checkNodeFields(dense(4, -3)) // 'outDim must be a positive integer, got -3'
 */
export const checkNodeFields = (n: Node): string | undefined => {
  const p = primitiveOf(n);
  if (p) return p.check(n as never);
  if (!Object.hasOwn(COMBINATORS, n.kind)) return `unknown layer kind ${JSON.stringify(n.kind)}`;
  return combinatorOf(n as CombinatorNode).check(n as CombinatorNode);
};

/** Readable location of a child, for error messages: `seq[1].repeat.shared(encoder).attention`. */
export const childWhere = (where: string, parent: Node, child: number | string): string =>
  isPrimitive(parent) ? where : joinPath(where, combinatorOf(parent).where(parent, child));

/** Readable location of a primitive itself. */
export const primitiveWhere = (where: string, n: Node): string => joinPath(where, n.kind);

/** Every shared node by name (first occurrence), for tying and validation. */
export const collectShared = (n: Node): Map<string, Node> =>
  foldNodes(n, new Map<string, Node>(), (m, x) => {
    if (x.kind === 'shared' && !m.has(x.name)) m.set(x.name, x.layer);
    return m;
  });

/** True when a subtree owns any parameter. */
export const containsParams = (n: Node): boolean => foldNodes(n, false, (a, x) => a || (primitiveOf(x)?.params(x as never).length ?? 0) > 0);

/** True when a repeat's copies share one scope: its body is shared, or owns no parameter. */
export const repeatShares = (n: RepeatNode): boolean => n.layer.kind === 'shared' || !containsParams(n.layer);

/** The scope each child of a combinator is interpreted in, given the combinator's scope. */
export const childScopes = (n: CombinatorNode, s: Scope): readonly Scope[] => {
  switch (n.kind) {
    case 'seq':
    case 'branch':
    case 'fanout': {
      const c = siblingScope(s);
      return combinatorOf(n).children(n).map(() => c);
    }
    case 'repeat':
      // (the step signal's scope, `stepScope(s)`, is taken first by whoever walks a repeat with a step)
      return repeatShares(n) ? [s] : repeatScopes(s, n.times);
    case 'shared':
      return [sharedScope(n.name)];
    case 'named':
      return [namedScope(s, n.name)];
  }
};

/** One occurrence of a primitive, as {@link walkScoped} meets it. */
export interface PrimitiveVisit {
  readonly node: Node;
  /** Its parameter prefix ('' when it owns no parameter). */
  readonly prefix: string;
  /** Its readable location. */
  readonly where: string;
  /** How many times this occurrence is applied per forward pass. */
  readonly uses: number;
  /** The innermost shared scope it is in, if any. */
  readonly sharedIn: string | undefined;
}

/**
 * The scope-aware walk: every primitive occurrence with its parameter prefix, location and use
 * count, validating node fields, shared-name consistency and tying targets on the way. A shared
 * body is visited once per occurrence; the copies of an unshared repeat once each.
 */
export const walkScoped = (model: Node, scope: Scope, visit: (v: PrimitiveVisit) => void, located?: Map<string, string>): ModelError | undefined => {
  const table = located ?? new Map<string, string>();
  const note = (where: string, path: string): void => void (table.has(where) || table.set(where, path));
  const sharedBodies = new Map<string, string>();
  const sharedNodes = collectShared(model);
  const go = (n: Node, s: Scope, where: string, uses: number, sh: string | undefined): ModelError | undefined => {
    const bad = checkNodeFields(n);
    // a node without parameters (or with bad fields, so none): its scope's path, plus its kind when unnamed
    const bare = s.explicit ? s.prefix : joinPath(s.prefix, n.kind);
    if (bad) {
      // a primitive takes its automatic segment all the same (the walk stops here)
      let path = bare;
      try {
        if ((primitiveOf(n)?.params(n as never).length ?? 0) > 0) path = primitivePrefix(s, n.kind);
      } catch {
        // fields too broken to list parameters
      }
      note(primitiveWhere(where, n), path);
      note(where, path);
      return locate(table, modelError(primitiveWhere(where, n), bad));
    }
    const p = primitiveOf(n);
    if (p) {
      const here = primitiveWhere(where, n);
      const owns = p.params(n as never).length > 0;
      const prefix = owns ? primitivePrefix(s, n.kind) : '';
      note(here, owns ? prefix : bare);
      const tie = p.tie?.(n as never);
      if (tie) {
        const emb = sharedNodes.get(tie.target);
        const e = emb ? innerEmbedding(emb) : undefined;
        if (!e) return locate(table, modelError(here, `ties to shared "${tie.target}", which is not a shared embedding in the model`));
        if (e.vocab !== tie.vocab || e.dim !== tie.dim) return locate(table, modelError(here, `expects an embedding ${tie.vocab}×${tie.dim}, shared "${tie.target}" is ${e.vocab}×${e.dim}`));
      }
      visit({ node: n, prefix, where: here, uses, sharedIn: sh });
      return undefined;
    }
    const c = n as CombinatorNode;
    note(where, s.prefix);
    if (c.kind === 'shared') {
      const body = canonicalJson(c.layer);
      const prev = sharedBodies.get(c.name);
      note(childWhere(where, c, 0), c.name);
      if (prev !== undefined && prev !== body) return locate(table, modelError(childWhere(where, c, 0), `two different layers are shared under the name "${c.name}"`));
      sharedBodies.set(c.name, body);
    }
    const scopes = childScopes(c, s);
    const kids = combinatorOf(c).children(c);
    if (c.kind === 'named') note(childWhere(where, c, 0), (scopes[0] as Scope).prefix);
    if (c.kind === 'repeat') {
      const body = c.layer;
      if (c.step) {
        const e = go(c.step, stepScope(s), childWhere(where, c, 'step'), uses * c.times, sh);
        if (e) return e;
      }
      if (repeatShares(c)) return go(body, scopes[0] as Scope, childWhere(where, c, 0), uses * c.times, sh);
      for (const [i, cs] of scopes.entries()) {
        const e = go(body, cs, joinPath(childWhere(where, c, i), String(i)), uses, sh);
        if (e) return e;
      }
      return undefined;
    }
    for (const [i, [k, child]] of kids.entries()) {
      const e = go(child, scopes[i] as Scope, childWhere(where, c, k), uses, c.kind === 'shared' ? c.name : sh);
      if (e) return e;
    }
    return undefined;
  };
  return go(model, scope, '', 1, undefined);
};

/**
 * Where each node location of a model is, in the language of parameter paths: structural
 * location (`seq[1].repeat.0.named.dense`, internal) → the path a user sees in `paramSpecs`, the
 * summary and `lamina params` (`h.0.c_proj`). A node owning parameters is its parameter prefix; one
 * without, its scope's path plus its kind (`h.0.transposeSeq`), or its name when named.
 * @example nodePaths(seq(dense(2, 3), named('out', dense(3, 1)))).get('seq[1].out.dense') // 'out'
 */
export const nodePaths = (model: Node): Map<string, string> => {
  const table = new Map<string, string>();
  walkScoped(model, rootScope(), () => undefined, table);
  return table;
};

const locate = (table: ReadonlyMap<string, string>, e: ModelError): ModelError => {
  // the location itself, else its nearest enclosing location the walk met
  for (let w = e.path; ; w = w.slice(0, Math.max(0, w.lastIndexOf('.')))) {
    const p = table.get(w);
    if (p !== undefined) return { ...e, path: p };
    if (w === '') return e;
  }
};

/**
 * A model error whose path is a structural location, restated in the language of parameter
 * paths (see {@link nodePaths}); a path the model does not have is kept as it is.
 * @example locateError(model, modelError('seq[1].dense', 'bad')).path // 'dense_1'
 */
export const locateError = (model: Node, e: ModelError): ModelError => (e.path === '' ? e : locate(nodePaths(model), e));
