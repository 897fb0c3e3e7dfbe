/**
 * The table of primitives: one entry per primitive kind, each from its own module. The
 * `satisfies` below makes a kind without its entry (or an entry of the wrong kind) a type error,
 * so adding a primitive is one module, one line here and one member of `PrimitiveNode`
 * (`layer.ts`); every interpreter then handles it.
 *
 * @example
 * ```ts
 * PRIMITIVES.dense.label(dense(4, 8) as DenseNode); // 'dense 4→8'
 * ```
 * @module
 */
import type { Node, PrimitiveKind, PrimitiveNode } from '../layer.js';
import type { Primitive } from '../primitive.js';
import { attentionPrimitive } from './attention.js';
import { biasPrimitive } from './bias.js';
import { densePrimitive } from './dense.js';
import { activationPrimitive, dropoutPrimitive, identityPrimitive } from './elementwise.js';
import { embeddingPrimitive, positionalEmbeddingPrimitive, tokenTypeEmbeddingPrimitive } from './embedding.js';
import { gatherPrimitive } from './gather.js';
import { layerNormPrimitive } from './layerNorm.js';
import { conv1dPrimitive } from './conv1d.js';
import { firstTokenPrimitive, poolPrimitive } from './pooling.js';
import { transposePrimitive } from './transpose.js';
import { sinusoidalPositionsPrimitive, stepSignalPrimitive } from './signals.js';
import { unembedPrimitive } from './unembed.js';

export * from './attention.js';
export * from './bias.js';
export * from './conv1d.js';
export * from './transpose.js';
export * from './dense.js';
export * from './elementwise.js';
export * from './embedding.js';
export * from './gather.js';
export * from './init.js';
export * from './layerNorm.js';
export * from './pooling.js';
export * from './signals.js';
export * from './unembed.js';

/** A table with one {@link Primitive} per primitive kind, each for its own node type. */
export type PrimitiveTable = { readonly [K in PrimitiveKind]: Primitive<Extract<PrimitiveNode, { readonly kind: K }>> };

/** Every primitive, by kind. */
export const PRIMITIVES = {
  dense: densePrimitive,
  embedding: embeddingPrimitive,
  positionalEmbedding: positionalEmbeddingPrimitive,
  tokenTypeEmbedding: tokenTypeEmbeddingPrimitive,
  layerNorm: layerNormPrimitive,
  dropout: dropoutPrimitive,
  activation: activationPrimitive,
  attention: attentionPrimitive,
  firstToken: firstTokenPrimitive,
  gather: gatherPrimitive,
  unembed: unembedPrimitive,
  identity: identityPrimitive,
  sinusoidalPositions: sinusoidalPositionsPrimitive,
  stepSignal: stepSignalPrimitive,
  bias: biasPrimitive,
  conv1d: conv1dPrimitive,
  pool: poolPrimitive,
  transpose: transposePrimitive,
} as const satisfies PrimitiveTable;

/**
 * The primitive record of a primitive node (undefined for combinators).
 * @example primitiveOf(dense(4, 8))?.kind // 'dense'
 */
export const primitiveOf = (n: Node): Primitive<PrimitiveNode> | undefined =>
  Object.hasOwn(PRIMITIVES, n.kind) ? (PRIMITIVES as unknown as Record<string, Primitive<PrimitiveNode>>)[n.kind] : undefined;

/** True for a primitive node (not a combinator). */
export const isPrimitive = (n: Node): n is PrimitiveNode => Object.hasOwn(PRIMITIVES, n.kind);
