// GPT-2 (Radford et al. 2019) in the lamina DSL: token + learned position embeddings, pre-LN
// blocks with causal self-attention and a gelu_new MLP, a final LayerNorm, and an LM head tied to
// the token embedding. The same value as `gpt2LMHeadModel` in @lamina/albert, which adds presets
// (gpt2 … gpt2-xl) and Hugging Face interop; a test keeps the two equal.
//
//   lamina train --model models/gpt2.ts --objective clm --corpus my.txt
import { dense, dropout, embedding, fanout, layerNorm, multiHeadAttention, named, positionalEmbedding, repeat, residual, seq, shared, tiedUnembed } from '@lamina/dsl';

export interface Gpt2Dims {
  vocabSize: number;
  maxPositions: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  innerSize?: number; // default 4 · hiddenSize
  dropout?: number; // default 0.1 (embeddings, attention probabilities, residual branches)
  layerNormEps?: number; // default 1e-5
  initStd?: number; // default 0.02
}

export const gpt2 = (d: Gpt2Dims) => {
  const H = d.hiddenSize;
  const I = d.innerSize ?? 4 * H;
  const p = d.dropout ?? 0.1;
  const eps = d.layerNormEps ?? 1e-5;
  const initStd = d.initStd ?? 0.02;
  const residStd = initStd / Math.sqrt(2 * d.numLayers); // GPT-2's scaled init of residual projections
  const wte = shared(embedding(d.vocabSize, H, { initStd }), 'wte');
  const block = seq(
    residual(
      seq(
        named('ln_1', layerNorm(H, eps)),
        named('attn', multiHeadAttention(H, d.numHeads, { causal: true, maskInput: 'attention_mask', dropout: p, initStd })),
        dropout(p),
      ),
    ),
    residual(
      seq(
        named('ln_2', layerNorm(H, eps)),
        named('mlp', seq(named('c_fc', dense(H, I, { activation: 'gelu_new', initStd })), named('c_proj', dense(I, H, { initStd: residStd })))),
        dropout(p),
      ),
    ),
  );
  return seq(
    wte,
    named('wpe', positionalEmbedding(d.maxPositions, H, { initStd })),
    dropout(p),
    named('h', repeat(block, d.numLayers)),
    named('ln_f', layerNorm(H, eps)),
    fanout({ logits: named('lm_head', tiedUnembed(wte, { bias: false })) }),
  );
};

/** A small GPT-2 for the CLI: `({ vocabSize, seqLength }) => model` (reads `input_ids`, `attention_mask`). */
export default ({ vocabSize, seqLength }: { vocabSize: number; seqLength: number }) =>
  gpt2({ vocabSize, maxPositions: seqLength, hiddenSize: 64, numLayers: 2, numHeads: 4 });
