/**
 * Parameters read off a model value: every parameter's path, shape and initialiser (sharing
 * deduplicated), how many times each is applied, and the exact count.
 *
 * @example
 * ```ts
 * countParams(repeat(shared(dense(8, 8)), 12)) // right(72): one set, applied 12 times
 * countParams(repeat(dense(8, 8), 12))         // right(864)
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { canonicalJson, innerEmbedding, type Init, type Node } from './layer.js';
import { childWhere, collectShared, joinPath, namedScope, primitivePrefix, primitiveWhere, repeatScopes, rootScope, sharedScope, siblingScope, type Scope } from './paths.js';
import { checkNodeFields, modelError, type ModelError } from './shape.js';

/** One parameter of a model. */
export interface ParamSpec {
  /** Path in the parameter store, e.g. `encoder.group0.layer0.attention.query.kernel`. */
  readonly path: string;
  readonly shape: readonly number[];
  readonly init: Init;
  /** False for biases and LayerNorm parameters (excluded from weight decay and LAMB's trust ratio). */
  readonly decay: boolean;
  /** Where the owning node is in the model (for messages and summaries). */
  readonly owner: string;
  /** Kind of the owning primitive. */
  readonly ownerKind: Node['kind'];
  /** How many times the parameter is applied in one forward pass (> 1 under sharing or tying). */
  readonly uses: number;
}

/** One occurrence of a parameterised primitive, as the walk meets it. */
export interface PrimitiveVisit {
  readonly node: Node;
  /** Its parameter prefix. */
  readonly prefix: string;
  /** Its readable location. */
  readonly where: string;
  /** How many times this occurrence is applied per forward pass. */
  readonly uses: number;
  /** The innermost shared scope it is in, if any. */
  readonly sharedIn: string | undefined;
}

const normal = (std: number): Init => ({ kind: 'normal', std });
const zeros: Init = { kind: 'zeros' };
const ones: Init = { kind: 'ones' };

/** The parameters a primitive owns, relative to its prefix: `[name, shape, init, decay]`. */
export const ownParams = (n: Node): readonly (readonly [string, readonly number[], Init, boolean])[] => {
  switch (n.kind) {
    case 'dense':
      return [['kernel', [n.inDim, n.outDim], normal(n.initStd), true], ...(n.bias ? [['bias', [n.outDim], zeros, false] as const] : [])];
    case 'embedding':
      return [['embeddings', [n.vocab, n.dim], normal(n.initStd), true]];
    case 'positionalEmbedding':
      return [['embeddings', [n.maxLen, n.dim], normal(n.initStd), true]];
    case 'tokenTypeEmbedding':
      return [['embeddings', [n.types, n.dim], normal(n.initStd), true]];
    case 'layerNorm':
      return [
        ['gamma', [n.dim], ones, false],
        ['beta', [n.dim], zeros, false],
      ];
    case 'attention': {
      const inner = n.heads * n.headSize;
      const proj = (name: string) =>
        [
          [`${name}.kernel`, [n.dim, inner], normal(n.initStd), true],
          [`${name}.bias`, [inner], zeros, false],
        ] as const;
      return [...proj('query'), ...proj('key'), ...proj('value'), ['output.kernel', [inner, n.dim], normal(n.initStd), true], ['output.bias', [n.dim], zeros, false]];
    }
    case 'unembed':
      return n.bias ? [['bias', [n.vocab], zeros, false]] : [];
    default:
      return [];
  }
};

const hasParams = (n: Node): boolean => ownParams(n).length > 0;

/**
 * Walks every parameterised primitive occurrence with its parameter prefix and use count,
 * validating node fields, shared-name consistency and tying targets on the way. Shared bodies
 * are visited once per occurrence (with the occurrence's use count).
 */
export const visitPrimitives = (model: Node, visit: (v: PrimitiveVisit) => void): E.Either<ModelError, void> => {
  const sharedBodies = new Map<string, string>();
  const sharedNodes = collectShared(model);
  const go = (n: Node, scope: Scope, where: string, uses: number, sh: string | undefined = undefined): ModelError | undefined => {
    const bad = checkNodeFields(n);
    if (bad) return modelError(primitiveWhere(where, n), bad);
    switch (n.kind) {
      case 'seq': {
        const s = siblingScope(scope);
        for (const [i, l] of n.layers.entries()) {
          const e = go(l, s, childWhere(where, n, i), uses, sh);
          if (e) return e;
        }
        return undefined;
      }
      case 'branch': {
        const s = siblingScope(scope);
        for (const [i, l] of n.branches.entries()) {
          const e = go(l, s, childWhere(where, n, i), uses, sh);
          if (e) return e;
        }
        return undefined;
      }
      case 'repeat':
        if (n.layer.kind === 'shared' || !containsParams(n.layer)) return go(n.layer, scope, childWhere(where, n, 0), uses * n.times, sh);
        for (const [i, s] of repeatScopes(scope, n.times).entries()) {
          const e = go(n.layer, s, joinPath(childWhere(where, n, i), String(i)), uses, sh);
          if (e) return e;
        }
        return undefined;
      case 'shared': {
        const body = canonicalJson(n.layer);
        const prev = sharedBodies.get(n.name);
        if (prev !== undefined && prev !== body)
          return modelError(childWhere(where, n, 0), `two different layers are shared under the name "${n.name}"`);
        sharedBodies.set(n.name, body);
        return go(n.layer, sharedScope(n.name), childWhere(where, n, 0), uses, n.name);
      }
      case 'named':
        return go(n.layer, namedScope(scope, n.name), childWhere(where, n, 0), uses, sh);
      case 'fanout': {
        const s = siblingScope(scope);
        for (const [k, l] of Object.entries(n.outputs)) {
          const e = go(l, s, childWhere(where, n, k), uses, sh);
          if (e) return e;
        }
        return undefined;
      }
      case 'unembed': {
        const t = sharedNodes.get(n.target);
        const emb = t ? innerEmbedding(t) : undefined;
        if (!emb) return modelError(primitiveWhere(where, n), `ties to shared "${n.target}", which is not a shared embedding in the model`);
        if (emb.vocab !== n.vocab || emb.dim !== n.dim)
          return modelError(primitiveWhere(where, n), `expects an embedding ${n.vocab}×${n.dim}, shared "${n.target}" is ${emb.vocab}×${emb.dim}`);
        visit({ node: n, prefix: primitivePrefix(scope, 'unembed'), where: primitiveWhere(where, n), uses, sharedIn: sh });
        return undefined;
      }
      default:
        if (hasParams(n)) visit({ node: n, prefix: primitivePrefix(scope, n.kind), where: primitiveWhere(where, n), uses, sharedIn: sh });
        return undefined;
    }
  };
  const err = go(model, rootScope(), '', 1);
  return err ? E.left(err) : E.right(undefined);
};

/** True when a subtree owns any parameter. */
export const containsParams = (n: Node): boolean => {
  switch (n.kind) {
    case 'seq':
      return n.layers.some(containsParams);
    case 'branch':
      return n.branches.some(containsParams);
    case 'repeat':
    case 'shared':
    case 'named':
      return containsParams(n.layer);
    case 'fanout':
      return Object.values(n.outputs).some(containsParams);
    default:
      return hasParams(n);
  }
};

/** The table path of the embedding a shared name refers to (for tying): `<name>[.<named…>].embeddings`. */
const tablePathIn = (visits: readonly PrimitiveVisit[], sharedName: string): string | undefined => {
  const v = visits.find((x) => x.node.kind === 'embedding' && x.sharedIn === sharedName);
  return v ? joinPath(v.prefix, 'embeddings') : undefined;
};

/** The parameter path of the table a tied decoder (`unembed`) reads, in `model`. */
export const tiedTablePath = (model: Node, sharedName: string): string | undefined => {
  const visits: PrimitiveVisit[] = [];
  visitPrimitives(model, (v) => visits.push(v));
  return tablePathIn(visits, sharedName);
};

/**
 * Every parameter of the model, deduplicated (a shared parameter appears once, with its total
 * use count), in walk order. Errors: malformed nodes, two different bodies under one shared name,
 * a tied decoder without its embedding, or two distinct nodes claiming one path.
 */
export const paramSpecs = (model: Node): E.Either<ModelError, readonly ParamSpec[]> => {
  const visits: PrimitiveVisit[] = [];
  const r = visitPrimitives(model, (v) => visits.push(v));
  if (E.isLeft(r)) return r;
  const specs = new Map<string, ParamSpec & { readonly sharedIn: string | undefined }>();
  for (const v of visits) {
    for (const [name, shape, init, decay] of ownParams(v.node)) {
      const path = joinPath(v.prefix, name);
      const prev = specs.get(path);
      if (prev) {
        if (prev.sharedIn === undefined || prev.sharedIn !== v.sharedIn)
          return E.left(modelError(v.where, `parameter path "${path}" is claimed by two different layers (${prev.owner} and ${v.where}); wrap one in named(...) or share them with shared(...)`));
        specs.set(path, { ...prev, uses: prev.uses + v.uses });
      } else {
        specs.set(path, { path, shape, init, decay, owner: v.where, ownerKind: v.node.kind, uses: v.uses, sharedIn: v.sharedIn });
      }
    }
  }
  for (const v of visits) {
    if (v.node.kind !== 'unembed') continue;
    const table = tablePathIn(visits, v.node.target);
    const t = table === undefined ? undefined : specs.get(table);
    if (table !== undefined && t) specs.set(table, { ...t, uses: t.uses + v.uses });
  }
  return E.right([...specs.values()].map(({ sharedIn: _s, ...p }) => p));
};

/** The number of elements of a shape. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Exact number of stored parameters (a shared parameter counts once).
 * @example countParams(factorize(30000, 128, 768)) // right(30000·128 + 128·768 + 768)
 */
export const countParams = (model: Node): E.Either<ModelError, number> =>
  E.map((ps: readonly ParamSpec[]) => ps.reduce((a, p) => a + sizeOf(p.shape), 0))(paramSpecs(model));
