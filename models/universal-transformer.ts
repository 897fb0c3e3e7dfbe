// A Universal Transformer encoder (Dehghani et al., ICLR 2019): ONE transformer block applied
// `steps` times, repeat(shared(block), steps), with the coordinate signal of the paper added
// before every application: the position's sinusoid (inside the block) and the step's sinusoid
// (repeat's { step }), so the one shared block can tell its applications apart.
//
// Heads, chosen by what the CLI passes: numLabels = 0 (mlm) → MLM logits [B, S, vocab] at every
// position; numLabels > 0 (classify) → logits [B, numLabels] from the first token.
//   lamina train --model models/universal-transformer.ts --objective mlm
//   lamina train --model models/universal-transformer.ts --objective classify --train imdb --eval imdb
import { dense, dropout, embedding, fanout, firstToken, layerNorm, multiHeadAttention, named, repeat, residual, seq, shared, sinusoidalPositions } from '@lamina/dsl';

export interface UniversalTransformerDims {
  vocabSize: number;
  numLabels: number; // 0: MLM head; > 0: sequence classification head
  hiddenSize?: number; // default 64
  numHeads?: number; // default 4
  steps?: number; // applications of the shared block, default 6
  innerSize?: number; // transition (FFN) width, default 4 · hiddenSize
  dropout?: number; // default 0.1
}

export const universalTransformer = (d: UniversalTransformerDims) => {
  const H = d.hiddenSize ?? 64;
  const I = d.innerSize ?? 4 * H;
  const p = d.dropout ?? 0.1;
  // post-LN, as in the paper: A = LN(x + attn(x)); H = LN(A + transition(A))
  const block = seq(
    sinusoidalPositions(),
    residual(seq(named('attention', multiHeadAttention(H, d.numHeads ?? 4, { dropout: p })), dropout(p))),
    named('attention_norm', layerNorm(H)),
    residual(seq(named('transition', dense(H, I, { activation: 'relu' })), named('transition_output', dense(I, H)), dropout(p))),
    named('transition_norm', layerNorm(H)),
  );
  const head =
    d.numLabels > 0
      ? seq(firstToken, named('pooler', dense(H, H, { activation: 'tanh' })), dropout(p), named('classifier', dense(H, d.numLabels)))
      : seq(named('mlm', dense(H, H, { activation: 'gelu' })), named('mlm_norm', layerNorm(H)), named('decoder', dense(H, d.vocabSize)));
  return seq(
    // std 1: the word signal on the scale of the unit-amplitude sinusoids added to it
    named('embeddings', embedding(d.vocabSize, H, { initStd: 1 })),
    dropout(p),
    repeat(shared(block, 'encoder'), d.steps ?? 6, { step: 'sinusoidal' }),
    fanout({ logits: head }),
  );
};

export default ({ vocabSize, numLabels }: { vocabSize: number; numLabels: number }) => universalTransformer({ vocabSize, numLabels });
