/**
 * Serialisation: io-ts codecs for layer values. `decodeModel(encodeModel(m))` equals `m`; bad JSON
 * yields a readable error (path + expected), never a throw.
 *
 * @example
 * ```ts
 * const json = encodeModel(seq(dense(4, 8), dense(8, 2)));   // plain JSON value
 * decodeModel(JSON.parse(JSON.stringify(json)));             // right(the same model)
 * decodeModel({ kind: 'dense', inDim: 'x' });                // left("inDim: expected number, got \"x\"")
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { CombinatorKind, Node } from './layer.js';
import { oneOf, optional } from './primitive.js';
import { PRIMITIVES } from './primitives/index.js';
import { COMBINATORS } from './tree.js';

/** The combinators' codecs (the primitives' live in their modules). */
const combinatorCodecs = (self: t.Mixed) =>
  ({
    seq: t.strict({ kind: t.literal('seq'), layers: t.readonlyArray(self) }),
    branch: t.strict({ kind: t.literal('branch'), branches: t.readonlyArray(self), merge: oneOf(['add', 'concat'] as const) }),
    repeat: t.strict({ kind: t.literal('repeat'), layer: self, times: t.number, step: optional(PRIMITIVES.stepSignal.codec) }),
    shared: t.strict({ kind: t.literal('shared'), name: t.string, layer: self }),
    named: t.strict({ kind: t.literal('named'), name: t.string, layer: self }),
    fanout: t.strict({ kind: t.literal('fanout'), outputs: t.record(t.string, self) }),
  }) satisfies Record<CombinatorKind, t.Mixed>;

/** The io-ts codec of {@link Node} (strict: unknown fields are dropped on decode, not kept). */
export const NodeCodec: t.Type<Node, unknown> = t.recursion('Layer', (self) =>
  t.union([
    ...(Object.values(PRIMITIVES).map((p) => p.codec) as [t.Mixed, t.Mixed, ...t.Mixed[]]),
    ...Object.values(combinatorCodecs(self as t.Mixed)),
  ]) as unknown as t.Type<Node, unknown>,
);

/** A JSON value that is not a valid layer. */
export interface DecodeError {
  readonly _tag: 'DecodeError';
  readonly message: string;
}

/** Every kind, derived from the two tables (so it cannot fall behind). */
const KINDS: readonly string[] = [...Object.keys(PRIMITIVES), ...Object.keys(COMBINATORS)];

/** The children of an undecoded combinator object, with their JSON keys (guarded: the JSON may be anything). */
const RAW_CHILDREN = {
  seq: (o: Record<string, unknown>) => (Array.isArray(o.layers) ? o.layers.map((l, i) => [COMBINATORS.seq.jsonKey(i), l] as const) : []),
  branch: (o: Record<string, unknown>) => (Array.isArray(o.branches) ? o.branches.map((l, i) => [COMBINATORS.branch.jsonKey(i), l] as const) : []),
  repeat: (o: Record<string, unknown>) => ('layer' in o ? [['layer', o.layer] as const] : []),
  shared: (o: Record<string, unknown>) => ('layer' in o ? [['layer', o.layer] as const] : []),
  named: (o: Record<string, unknown>) => ('layer' in o ? [['layer', o.layer] as const] : []),
  fanout: (o: Record<string, unknown>) =>
    typeof o.outputs === 'object' && o.outputs !== null ? Object.entries(o.outputs).map(([k, l]) => [COMBINATORS.fanout.jsonKey(k), l] as const) : [],
} satisfies Record<CombinatorKind, (o: Record<string, unknown>) => readonly (readonly [string, unknown])[]>;

/**
 * Finds the most helpful error: io-ts reports every union member's failure; we follow the
 * member whose `kind` matches and report its first failing field with a path like
 * `layers[1].layer.outDim: expected number, got "x"`.
 */
const explain = (u: unknown, path: string): string => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return `${path || '(root)'}: expected a layer object, got ${JSON.stringify(u)}`;
  const o = u as Record<string, unknown>;
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (typeof o.kind !== 'string' || !KINDS.includes(o.kind)) return `${at('kind')}: expected one of ${KINDS.join(', ')}, got ${JSON.stringify(o.kind)}`;
  const children = Object.hasOwn(RAW_CHILDREN, o.kind) ? RAW_CHILDREN[o.kind as CombinatorKind](o) : [];
  for (const [k, c] of children) if (E.isLeft(NodeCodec.decode(c))) return explain(c, at(k));
  const member = (NodeCodec as unknown as { type: t.UnionType<t.Mixed[]> }).type.types.find(
    (m) => ((m as t.ExactC<t.TypeC<t.Props>>).type.props.kind as t.LiteralC<string>).value === o.kind,
  );
  const r = member?.decode(u);
  if (r && E.isLeft(r)) {
    const e = r.left[0];
    if (e) {
      const field = e.context.map((c) => c.key).filter((k) => k !== '')[0] ?? '';
      const expected = e.context[e.context.length - 1]?.type.name ?? 'a valid value';
      return `${at(field)}: expected ${expected}, got ${JSON.stringify(e.value) ?? 'nothing'}`;
    }
  }
  return `${path || '(root)'}: not a valid ${o.kind} layer`;
};

/** Decodes a JSON value into a layer value; never throws. */
export const decodeModel = (u: unknown): E.Either<DecodeError, Node> => {
  const r = NodeCodec.decode(u);
  return E.isRight(r) ? E.right(r.right) : E.left({ _tag: 'DecodeError', message: explain(u, '') });
};

/** Encodes a layer value as plain JSON data. */
export const encodeModel = (m: Node): unknown => NodeCodec.encode(m);

/** Parses model JSON text; malformed JSON is a {@link DecodeError} too. */
export const parseModel = (text: string): E.Either<DecodeError, Node> => {
  try {
    return decodeModel(JSON.parse(text));
  } catch (e) {
    return E.left({ _tag: 'DecodeError', message: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` });
  }
};
