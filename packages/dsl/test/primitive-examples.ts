// One example value of every primitive kind (typed per kind, so a new primitive without an
// example here fails the type-check), for table-wide tests.
import {
  activation,
  bias,
  conv1d,
  maxPool,
  transposeSeq,
  dense,
  dropout,
  embedding,
  firstToken,
  gatherPositions,
  identity,
  layerNorm,
  multiHeadAttention,
  positionalEmbedding,
  shared,
  sinusoidalPositions,
  stepSignal,
  tiedUnembed,
  tokenTypeEmbedding,
  type PrimitiveKind,
  type PrimitiveNode,
} from '../src/index.js';

const words = shared(embedding(10, 4), 'w');

const EXAMPLES: { readonly [K in PrimitiveKind]: Extract<PrimitiveNode, { kind: K }> } = {
  dense: dense(4, 3, { activation: 'relu' }) as never,
  embedding: embedding(10, 4) as never,
  positionalEmbedding: positionalEmbedding(8, 4) as never,
  tokenTypeEmbedding: tokenTypeEmbedding(2, 4) as never,
  layerNorm: layerNorm(4) as never,
  dropout: dropout(0.1) as never,
  activation: activation('tanh') as never,
  attention: multiHeadAttention(4, 2, { causal: true }) as never,
  firstToken: firstToken as never,
  gather: gatherPositions('pos') as never,
  unembed: tiedUnembed(words) as never,
  identity: identity as never,
  sinusoidalPositions: sinusoidalPositions() as never,
  stepSignal: stepSignal('embedding', 3, 4) as never,
  bias: bias(4) as never,
  conv1d: conv1d(4, 6, 3, { stride: 2, padding: 'valid', activation: 'relu' }) as never,
  pool: maxPool() as never,
  transpose: transposeSeq as never,
};

/** One example of every primitive. */
export const everyPrimitive = (): PrimitiveNode[] => Object.values(EXAMPLES);
