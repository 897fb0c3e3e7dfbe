/**
 * Parameters read off a model value: every parameter's path, shape and initialiser (sharing
 * deduplicated), how many times each is applied, and the exact count. Each primitive declares
 * its own parameters (`params` in its module); the scope-aware walk (`walkScoped`) gives them
 * their paths.
 *
 * @example
 * ```ts
 * countParams(repeat(shared(dense(8, 8)), 12)) // right(72): one set, applied 12 times
 * countParams(repeat(dense(8, 8), 12))         // right(864)
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Init, Node } from './layer.js';
import { joinPath, rootScope } from './paths.js';
import type { OwnParam } from './primitive.js';
import { primitiveOf } from './primitives/index.js';
import { modelError, type ModelError } from './sig.js';
import { walkScoped, type PrimitiveVisit } from './tree.js';

export { containsParams, type PrimitiveVisit } from './tree.js';

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

/**
 * The parameters a node owns itself, relative to its prefix (none for combinators).
 * @example ownParams(dense(2, 3)).map((p) => p.name) // ['kernel', 'bias']
 */
export const ownParams = (n: Node): readonly OwnParam[] => primitiveOf(n)?.params(n as never) ?? [];

/**
 * Walks every primitive occurrence with its parameter prefix and use count (see `walkScoped`).
 * @example visitPrimitives(model, (v) => console.log(v.prefix, v.uses))
 */
export const visitPrimitives = (model: Node, visit: (v: PrimitiveVisit) => void): E.Either<ModelError, void> => {
  const err = walkScoped(model, rootScope(), visit);
  return err ? E.left(err) : E.right(undefined);
};

/** The table path of the embedding a shared name refers to (for tying): `<name>[.<named…>].embeddings`. */
const tablePathIn = (visits: readonly PrimitiveVisit[], sharedName: string): string | undefined => {
  const v = visits.find((x) => x.node.kind === 'embedding' && x.sharedIn === sharedName);
  return v ? joinPath(v.prefix, 'embeddings') : undefined;
};

/**
 * The parameter path of the table a tied decoder (`unembed`) reads, in `model`.
 * @example tiedTablePath(model, 'embeddings.word') // 'embeddings.word.embeddings'
 */
export const tiedTablePath = (model: Node, sharedName: string): string | undefined => {
  const visits: PrimitiveVisit[] = [];
  visitPrimitives(model, (v) => visits.push(v));
  return tablePathIn(visits, sharedName);
};

/**
 * Every parameter of the model, deduplicated (a shared parameter appears once, with its total
 * use count), in walk order. Errors: malformed nodes, two different bodies under one shared name,
 * a tied decoder without its embedding, or two distinct nodes claiming one path.
 * @example paramSpecs(dense(2, 3)) // right([{ path: 'dense_0.kernel', shape: [2, 3], … }, …])
 */
export const paramSpecs = (model: Node): E.Either<ModelError, readonly ParamSpec[]> => {
  const visits: PrimitiveVisit[] = [];
  const r = visitPrimitives(model, (v) => visits.push(v));
  if (E.isLeft(r)) return r;
  const specs = new Map<string, ParamSpec & { readonly sharedIn: string | undefined }>();
  for (const v of visits) {
    for (const { name, shape, init, decay } of ownParams(v.node)) {
      const path = joinPath(v.prefix, name);
      const prev = specs.get(path);
      if (prev) {
        if (prev.sharedIn === undefined || prev.sharedIn !== v.sharedIn)
          return E.left(modelError(v.prefix, `parameter path "${path}" is claimed by two different layers (${prev.owner} and ${v.where}); wrap one in named(...) or share them with shared(...)`));
        specs.set(path, { ...prev, uses: prev.uses + v.uses });
      } else {
        specs.set(path, { path, shape, init, decay, owner: v.where, ownerKind: v.node.kind, uses: v.uses, sharedIn: v.sharedIn });
      }
    }
  }
  for (const v of visits) {
    const tie = primitiveOf(v.node)?.tie?.(v.node as never);
    if (!tie) continue;
    const table = tablePathIn(visits, tie.target);
    const t = table === undefined ? undefined : specs.get(table);
    if (table !== undefined && t) specs.set(table, { ...t, uses: t.uses + v.uses });
  }
  return E.right([...specs.values()].map(({ sharedIn: _s, ...p }) => p));
};

/**
 * The number of elements of a shape.
 * @example sizeOf([2, 3]) // 6
 */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Exact number of stored parameters (a shared parameter counts once).
 * @example countParams(factorize(30000, 128, 768)) // right(30000·128 + 128·768 + 768)
 */
export const countParams = (model: Node): E.Either<ModelError, number> =>
  E.map((ps: readonly ParamSpec[]) => ps.reduce((a, p) => a + sizeOf(p.shape), 0))(paramSpecs(model));
