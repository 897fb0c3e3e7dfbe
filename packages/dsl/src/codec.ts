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
import { ACTIVATIONS, type Node } from './layer.js';

const oneOf = <T extends string>(values: readonly T[]): t.Type<T> =>
  new t.Type<T>(
    values.map((v) => JSON.stringify(v)).join(' | '),
    (u): u is T => typeof u === 'string' && (values as readonly string[]).includes(u),
    (u, c) => (typeof u === 'string' && (values as readonly string[]).includes(u) ? t.success(u as T) : t.failure(u, c)),
    t.identity,
  );

const activationC = oneOf(ACTIVATIONS);
const kindOf = <K extends string>(k: K) => t.literal(k);

/** The io-ts codec of {@link Node} (strict: unknown fields are dropped on decode, not kept). */
export const NodeCodec: t.Type<Node, unknown> = t.recursion('Layer', () =>
  t.union([
    t.strict({ kind: kindOf('dense'), inDim: t.number, outDim: t.number, bias: t.boolean, activation: activationC, initStd: t.number }),
    t.strict({ kind: kindOf('embedding'), vocab: t.number, dim: t.number, initStd: t.number }),
    t.strict({ kind: kindOf('positionalEmbedding'), maxLen: t.number, dim: t.number, initStd: t.number }),
    t.strict({ kind: kindOf('tokenTypeEmbedding'), types: t.number, dim: t.number, input: t.string, initStd: t.number }),
    t.strict({ kind: kindOf('layerNorm'), dim: t.number, epsilon: t.number }),
    t.strict({ kind: kindOf('dropout'), rate: t.number }),
    t.strict({ kind: kindOf('activation'), fn: activationC }),
    t.strict({
      kind: kindOf('attention'),
      dim: t.number,
      heads: t.number,
      headSize: t.number,
      maskInput: t.union([t.string, t.null]),
      dropout: t.number,
      initStd: t.number,
      causal: t.union([t.literal(true), t.undefined]),
    }),
    t.strict({ kind: kindOf('firstToken') }),
    t.strict({ kind: kindOf('gather'), input: t.string }),
    t.strict({ kind: kindOf('unembed'), target: t.string, vocab: t.number, dim: t.number, bias: t.boolean }),
    t.strict({ kind: kindOf('identity') }),
    t.strict({ kind: kindOf('seq'), layers: t.readonlyArray(NodeCodec) }),
    t.strict({ kind: kindOf('branch'), branches: t.readonlyArray(NodeCodec), merge: oneOf(['add', 'concat'] as const) }),
    t.strict({ kind: kindOf('repeat'), layer: NodeCodec, times: t.number }),
    t.strict({ kind: kindOf('shared'), name: t.string, layer: NodeCodec }),
    t.strict({ kind: kindOf('named'), name: t.string, layer: NodeCodec }),
    t.strict({ kind: kindOf('fanout'), outputs: t.record(t.string, NodeCodec) }),
  ]) as unknown as t.Type<Node, unknown>,
);

/** A JSON value that is not a valid layer. */
export interface DecodeError {
  readonly _tag: 'DecodeError';
  readonly message: string;
}

const KINDS = [
  'dense', 'embedding', 'positionalEmbedding', 'tokenTypeEmbedding', 'layerNorm', 'dropout', 'activation', 'attention',
  'firstToken', 'gather', 'unembed', 'identity', 'seq', 'branch', 'repeat', 'shared', 'named', 'fanout',
] as const satisfies readonly Node['kind'][];

/**
 * Finds the most helpful error: io-ts reports every union member's failure; we follow the
 * member whose `kind` matches and report its first failing field with a path like
 * `layers[1].layer.outDim: expected number, got "x"`.
 */
const explain = (u: unknown, path: string): string => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return `${path || '(root)'}: expected a layer object, got ${JSON.stringify(u)}`;
  const o = u as Record<string, unknown>;
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (typeof o.kind !== 'string' || !(KINDS as readonly string[]).includes(o.kind))
    return `${at('kind')}: expected one of ${KINDS.join(', ')}, got ${JSON.stringify(o.kind)}`;
  const children: [string, unknown][] =
    o.kind === 'seq' && Array.isArray(o.layers)
      ? o.layers.map((l, i) => [`layers[${i}]`, l])
      : o.kind === 'branch' && Array.isArray(o.branches)
        ? o.branches.map((l, i) => [`branches[${i}]`, l])
        : (o.kind === 'repeat' || o.kind === 'shared' || o.kind === 'named') && 'layer' in o
          ? [['layer', o.layer]]
          : o.kind === 'fanout' && typeof o.outputs === 'object' && o.outputs !== null
            ? Object.entries(o.outputs).map(([k, l]) => [`outputs.${k}`, l])
            : [];
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
