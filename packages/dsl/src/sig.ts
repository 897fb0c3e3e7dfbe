/**
 * Signatures and errors, the vocabulary every interpreter and every primitive module speaks:
 * {@link TensorSig} (shape + dtype, `null` for dims known only at run time), {@link ModelError}
 * (message + path of the failing node), and the small checks primitives build their shape rules
 * from. A leaf module: it imports nothing of the DSL.
 *
 * @example
 * ```ts
 * import { features, tensorSig } from '@lamina/dsl';
 * features(tensorSig([2, 5, 8]), 8); // right({ shape: [2, 5, 8], dtype: 'float32' })
 * features(tensorSig([2, 5, 4]), 8); // left('expected last dim 8, got 4 (input [2, 5, 4])')
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';

/** Element type of a tensor. */
export type DType = 'float32' | 'int32';

/** Shape and dtype of one tensor; `null` dims are known only at run time (batch, sequence). */
export interface TensorSig {
  readonly shape: readonly (number | null)[];
  readonly dtype: DType;
}

/** What flows between layers: one tensor, or (after a fanout) named tensors. */
export type Signature = TensorSig | { readonly outputs: Readonly<Record<string, TensorSig>> };

/** A model that is malformed or does not fit its input, located by path. */
export interface ModelError {
  readonly _tag: 'ModelError';
  /** Where: the parameter path of the failing node, e.g. `encoder.attention`. */
  readonly path: string;
  readonly message: string;
}

/**
 * Makes a {@link ModelError}.
 * @example modelError('dense_1', 'expected last dim 32, got 16')
 */
export const modelError = (path: string, message: string): ModelError => ({ _tag: 'ModelError', path, message });

/**
 * `path: message`, the one-line form of a {@link ModelError}.
 * @example formatModelError(modelError('dense_1', 'bad')) // 'dense_1: bad'
 */
export const formatModelError = (e: ModelError): string => (e.path ? `${e.path}: ${e.message}` : e.message);

/**
 * A tensor signature.
 * @example tensorSig([null, 128], 'int32') // ids of any batch, 128 tokens
 */
export const tensorSig = (shape: readonly (number | null)[], dtype: DType = 'float32'): TensorSig => ({ shape, dtype });

/**
 * `[2, *, 8]`: a shape as messages show it.
 * @example showShape([null, 8]) // '[*, 8]'
 */
export const showShape = (s: readonly (number | null)[]): string => `[${s.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;

/**
 * True when two dims may be equal (an unknown dim fits anything).
 * @example dimsMatch(null, 4) // true
 */
export const dimsMatch = (a: number | null | undefined, b: number | null | undefined): boolean => a === null || b === null || a === undefined || b === undefined || a === b;

/**
 * The last dim of a signature (`null` when unknown).
 * @example lastDim(tensorSig([2, 8])) // 8
 */
export const lastDim = (s: TensorSig): number | null => s.shape[s.shape.length - 1] ?? null;

/**
 * The same signature with another last dim (float32).
 * @example withLast(tensorSig([2, 8]), 3) // [2, 3]
 */
export const withLast = (x: TensorSig, d: number | null): TensorSig => tensorSig([...x.shape.slice(0, -1), d], 'float32');

/**
 * Number of elements (NaN when a dim is unknown).
 * @example elems(tensorSig([2, 3])) // 6
 */
export const elems = (s: TensorSig): number => s.shape.reduce<number>((a, d) => a * (d ?? NaN), 1);

/** A shape rule's result: the output signature, or what is wrong (the interpreter adds the path). */
export type ShapeResult = E.Either<string, TensorSig>;

/**
 * Float features whose last dim is `dim`.
 * @example features(tensorSig([2, 8]), 8) // right
 */
export const features = (x: TensorSig, dim: number, what = 'last dim'): ShapeResult =>
  x.dtype !== 'float32'
    ? E.left(`expected float32 features ${showShape(x.shape)}, got int32 ids (add an embedding first)`)
    : x.shape.length === 0
      ? E.left('expected a tensor of rank >= 1, got a scalar')
      : dimsMatch(lastDim(x), dim)
        ? E.right(x)
        : E.left(`expected ${what} ${dim}, got ${lastDim(x)} (input ${showShape(x.shape)})`);

/**
 * Float features `[batch, seq, dim]` (`dim` null: any width).
 * @example sequence(tensorSig([2, 5, 8]), 8) // right
 */
export const sequence = (x: TensorSig, dim: number | null): ShapeResult =>
  E.chain((t: TensorSig): ShapeResult => (t.shape.length === 3 ? E.right(t) : E.left(`expected [batch, seq, ${dim ?? 'dim'}], got ${showShape(t.shape)}`)))(
    dim === null
      ? x.dtype === 'float32'
        ? E.right(x)
        : E.left(`expected [batch, seq, dim] features, got ${showShape(x.shape)} ${x.dtype}`)
      : features(x, dim),
  );

/** A side input some primitive of a model reads, by name. */
export interface SideInputSpec {
  readonly name: string;
  /** Required dtype, or `any` (a 0/1 mask may be int32 or float32). */
  readonly dtype: DType | 'any';
  /** Allowed ranks. */
  readonly ranks: readonly number[];
  /** True when the model cannot run without it. */
  readonly required: boolean;
  /** What it is, for messages (`attention mask [batch, seq]`). */
  readonly what: string;
}

/**
 * Looks up a side input for a stream `x`: absent (undefined, or an error when required), or
 * checked for rank, dtype and batch.
 * @example sideInput({ attention_mask: tensorSig([2, 5], 'int32') }, maskSpec, tensorSig([2, 5, 8]))
 */
export const sideInput = (side: Readonly<Record<string, TensorSig>>, spec: SideInputSpec, x: TensorSig): E.Either<string, TensorSig | undefined> => {
  const s = side[spec.name];
  if (!s) return spec.required ? E.left(`needs the side input "${spec.name}", which is not given`) : E.right(undefined);
  if (!spec.ranks.includes(s.shape.length)) return E.left(`side input "${spec.name}" must have rank ${spec.ranks.join(' or ')}, got ${showShape(s.shape)}`);
  if (spec.dtype !== 'any' && s.dtype !== spec.dtype) return E.left(`side input "${spec.name}" must be ${spec.dtype} ${spec.what}, got ${s.dtype}`);
  if (!dimsMatch(s.shape[0], x.shape[0])) return E.left(`side input "${spec.name}" has batch ${s.shape[0]}, the stream has ${x.shape[0]}`);
  return E.right(s);
};

/** `need(ok, msg)`: the message when not ok. */
export const need = (ok: boolean, msg: string): string | undefined => (ok ? undefined : msg);
/** An error unless `v` is a positive integer. */
export const positive = (field: string, v: unknown): string | undefined =>
  need(typeof v === 'number' && Number.isInteger(v) && v > 0, `${field} must be a positive integer, got ${JSON.stringify(v)}`);
/** An error unless `v` is a rate in [0, 1). */
export const rateIn = (field: string, v: unknown): string | undefined =>
  need(typeof v === 'number' && v >= 0 && v < 1, `${field} must be in [0, 1), got ${JSON.stringify(v)}`);
/** An error unless `v` is a finite std >= 0 (or absent). */
export const stdOk = (v: unknown): string | undefined =>
  v === undefined ? undefined : need(typeof v === 'number' && v >= 0 && Number.isFinite(v), `initStd must be a finite number >= 0, got ${JSON.stringify(v)}`);
