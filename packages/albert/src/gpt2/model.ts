/**
 * GPT-2 (Radford et al. 2019) as a lamina value, reading like the paper:
 *
 * ```ts
 * gpt2(c) = seq(wte, wpe, dropout, repeat(block, N), ln_f, fanout({ logits: tiedUnembed(wte) }))
 * block   = seq(residual(seq(ln_1, causalAttention, dropout)), residual(seq(ln_2, mlp, dropout)))   // pre-LN
 * ```
 *
 * Token and learned position embeddings, pre-LN blocks with causal self-attention and a `gelu_new`
 * MLP, a final LayerNorm, and an LM head that is the transpose of the token embedding (tied, no
 * bias), exactly as Hugging Face's `GPT2LMHeadModel`. Parameter paths follow HF's module names:
 * `wte.embeddings`, `wpe.embeddings`, `h.0.ln_1.gamma`, `h.0.attn.query.kernel`,
 * `h.0.mlp.c_fc.kernel`, `ln_f.beta`, … (the name map in `gpt2/hf.ts` relates them to HF's).
 *
 * Inputs: `input_ids` `[batch, seq]` int32 (the main stream) and optionally `attention_mask`
 * `[batch, seq]` 0/1 (padding; right padding leaves the logits at real positions unchanged).
 *
 * @example
 * ```ts
 * import { gpt2LMHeadModel, GPT2_PRESETS, GPT2_INPUTS } from '@lamina/albert';
 * import { countParams, compile, unwrap } from '@lamina/dsl';
 * countParams(gpt2LMHeadModel(GPT2_PRESETS.gpt2));                          // Right(124_439_808)
 * const forward = unwrap(compile(gpt2LMHeadModel(GPT2_PRESETS.gpt2), { input: GPT2_INPUTS.ids }));
 * ```
 * @module
 */
import {
  dense,
  dropout,
  embedding,
  fanout,
  layerNorm,
  multiHeadAttention,
  named,
  positionalEmbedding,
  repeat,
  residual,
  seq,
  shared,
  tiedUnembed,
  type Layer,
  type SharedNode,
} from '@lamina/dsl';
import type { Gpt2Config } from './config.js';

/**
 * The names of the inputs GPT-2 reads. `input_ids` is the main stream (pass it as
 * `compile(model, { input: GPT2_INPUTS.ids })`); `attention_mask` is optional.
 * @example GPT2_INPUTS.ids // 'input_ids'
 */
export const GPT2_INPUTS = { ids: 'input_ids', mask: 'attention_mask' } as const;

/**
 * The names of the outputs of {@link gpt2LMHeadModel}: `logits` `[batch, seq, vocab]`, the
 * next-token scores at every position.
 * @example GPT2_OUTPUTS.logits // 'logits'
 */
export const GPT2_OUTPUTS = { logits: 'logits' } as const;

/**
 * The token embedding `wte` (`[V, H]`), shared so the LM head can be tied to it.
 * @example gpt2TokenEmbedding(tinyGpt2Config()).name // 'wte'
 */
export const gpt2TokenEmbedding = (c: Gpt2Config): Layer<'ids', number> & SharedNode =>
  shared(embedding(c.vocabSize, c.hiddenSize, { initStd: c.initializerRange }), 'wte');

/**
 * One pre-LN GPT-2 block: `x + drop(attn(ln_1(x)))`, then `x + drop(mlp(ln_2(x)))` with
 * `mlp = c_proj(act(c_fc(x)))`. Attention is causal and reads the optional padding mask.
 * @example gpt2Block(tinyGpt2Config()) // Layer<number, number>
 */
export const gpt2Block = (c: Gpt2Config): Layer<number, number> => {
  const H: number = c.hiddenSize;
  const std = { initStd: c.initializerRange };
  // GPT-2's scaled init for the projections that write into the residual stream: std / √(2N).
  const residStd = { initStd: c.initializerRange / Math.sqrt(2 * c.numLayers) };
  return seq(
    residual(
      seq(
        named('ln_1', layerNorm(H, c.layerNormEps)),
        named('attn', multiHeadAttention(H, c.numHeads, { causal: true, maskInput: GPT2_INPUTS.mask, dropout: c.attnDropout, ...std })),
        dropout(c.residDropout),
      ),
    ),
    residual(
      seq(
        named('ln_2', layerNorm(H, c.layerNormEps)),
        named('mlp', seq(named('c_fc', dense(H, c.innerSize, { activation: c.activation, ...std })), named('c_proj', dense(c.innerSize, H, residStd)))),
        dropout(c.residDropout),
      ),
    ),
  );
};

/**
 * The GPT-2 transformer (HF's `GPT2Model`): `[batch, seq]` ids → `[batch, seq, H]` hidden states
 * after the final LayerNorm `ln_f`.
 * @example inferShape(gpt2Transformer(tinyGpt2Config()), tensorSig([null, 8], 'int32')) // Right({ shape: [null, 8, 32], … })
 */
export const gpt2Transformer = (c: Gpt2Config): Layer<'ids', number> =>
  seq(
    gpt2TokenEmbedding(c),
    named('wpe', positionalEmbedding(c.maxPositions, c.hiddenSize as number, { initStd: c.initializerRange })),
    dropout(c.embdDropout),
    named('h', repeat(gpt2Block(c), c.numLayers)),
    named('ln_f', layerNorm(c.hiddenSize as number, c.layerNormEps)),
  );

/**
 * The LM head: hidden states `[…, H]` → logits `[…, V]` through the transposed `wte` (tied, no
 * bias; it owns no parameters).
 * @example countParams(seq(gpt2TokenEmbedding(c), gpt2LMHead(c))) // Right(V·H)
 */
export const gpt2LMHead = (c: Gpt2Config): Layer<number, number> => named('lm_head', tiedUnembed(gpt2TokenEmbedding(c) as never, { bias: false }) as Layer<number, number>);

/**
 * `GPT2LMHeadModel`: `[batch, seq]` ids → `{ logits: [batch, seq, V] }`. Counts exactly as
 * Hugging Face does (124,439,808 for `gpt2`).
 * @example
 * ```ts
 * const f = unwrap(compile(gpt2LMHeadModel(tinyGpt2Config()), { input: 'input_ids' }));
 * (f(params, { input_ids: ids }) as Record<string, tf.Tensor>).logits; // [B, S, 97]
 * ```
 */
export const gpt2LMHeadModel = (c: Gpt2Config): Layer<'ids', number> => seq(gpt2Transformer(c), fanout({ [GPT2_OUTPUTS.logits]: gpt2LMHead(c) })) as Layer<'ids', number>;
