/**
 * ALBERT and BERT as lamina values, reading like the paper:
 *
 * ```ts
 * encoder(c) = seq(factorize(V, E, H, …), repeat(shared(block), N))   // ALBERT (sharing "all")
 * encoder(c) = seq(embed(V, H, …),        repeat(block, N))           // BERT   (sharing "none")
 * ```
 *
 * plus the pooler and the heads of Hugging Face's `AlbertForPreTraining` (MLM with a decoder tied
 * to the word embedding, sentence-order prediction) and the fine-tuning heads. Parameter paths
 * (and so the Hugging Face name map) follow from the `named`/`shared` scopes used here:
 * `embeddings.word.embeddings`, `encoder.group0.layer0.attention.query.kernel`, `pooler.kernel`,
 * `mlm.decoder.bias`, `sop.kernel`, …
 *
 * @example
 * ```ts
 * import { albertModel, PRESETS } from '@lamina/albert';
 * import { countParams } from '@lamina/dsl';
 * countParams(albertModel(PRESETS['albert-base'])); // right(11_683_584)
 * ```
 * @module
 */
import {
  dense,
  dropout,
  embedding,
  factorize,
  fanout,
  firstToken,
  gatherPositions,
  identity,
  layerNorm,
  meanPool,
  multiHeadAttention,
  named,
  positionalEmbedding,
  repeat,
  residual,
  seq,
  shared,
  tiedUnembed,
  tokenTypeEmbedding,
  type Layer,
  type Node,
  type SharedNode,
} from '@lamina/dsl';
import type { AlbertConfig } from './config.js';

/** The names of the inputs the models read. `input_ids` is the main stream. */
export const INPUTS = {
  ids: 'input_ids',
  tokenTypes: 'token_type_ids',
  mask: 'attention_mask',
  maskedPositions: 'masked_lm_positions',
} as const;

/**
 * The names of the outputs the ALBERT/BERT models produce, for trainers and tools that read them
 * (so no one outside this package spells them).
 * @example out[OUTPUTS.mlmLogits] // [B, S, V] MLM logits
 */
export const OUTPUTS = {
  hidden: 'last_hidden_state',
  pooled: 'pooler_output',
  mlmLogits: 'prediction_logits',
  taskLogits: 'logits',
} as const;

/**
 * The output of the sentence-level pretraining head.
 * @example orderLogitsOutput('sop') // 'sop_logits'
 */
export const orderLogitsOutput = (objective: 'sop' | 'nsp'): string => `${objective}_logits`;

/**
 * The parameter scope of the task head of {@link albertForTask} (freshly initialised when
 * fine-tuning starts from a pretrained encoder).
 * @example isTaskHeadParam('classifier.kernel') // true
 */
export const TASK_HEAD_SCOPE = 'classifier';
/**
 * Whether a parameter path belongs to the task head ({@link TASK_HEAD_SCOPE}).
 * @example isTaskHeadParam('pooler.kernel') // false
 */
export const isTaskHeadParam = (path: string): boolean => path.startsWith(`${TASK_HEAD_SCOPE}.`);
/**
 * Which sentence-level head, if any, a set of parameter paths holds (`sop.*` or `nsp.*`).
 * @example orderHeadOf(['sop.kernel', 'sop.bias']) // 'sop'
 */
export const orderHeadOf = (paths: Iterable<string>): 'sop' | 'nsp' | 'none' => {
  for (const p of paths) {
    if (p.startsWith('sop.')) return 'sop';
    if (p.startsWith('nsp.')) return 'nsp';
  }
  return 'none';
};

/** The shared word embedding (`embeddings.word`), the target of the tied MLM decoder. */
export const wordEmbedding = (c: AlbertConfig): Layer<'ids', number> & SharedNode =>
  shared(embedding(c.vocabSize, c.embeddingSize, { initStd: c.initializerRange }), 'embeddings.word');

/** Position + token-type embeddings, LayerNorm and dropout, at the embedding width. */
const atEmbeddingWidth = (c: AlbertConfig): Layer<number, number> =>
  seq(
    named('position', positionalEmbedding(c.maxPositionEmbeddings, c.embeddingSize, { initStd: c.initializerRange })),
    named('token_type', tokenTypeEmbedding(c.typeVocabSize, c.embeddingSize, { input: INPUTS.tokenTypes, initStd: c.initializerRange })),
    named('layer_norm', layerNorm(c.embeddingSize, c.layerNormEps)),
    dropout(c.hiddenDropoutProb),
  );

/**
 * The embeddings: ALBERT's factorised `V×E` + `E×H` (`factorize`), or BERT's `V×H`.
 * Output: `[batch, seq, H]`.
 */
export const embeddings = (c: AlbertConfig): Layer<'ids', number> =>
  named(
    'embeddings',
    c.factorized
      ? factorize(c.vocabSize, c.embeddingSize, c.hiddenSize, {
          sharedName: 'embeddings.word',
          between: atEmbeddingWidth(c),
          initStd: c.initializerRange,
        })
      : seq(wordEmbedding(c), atEmbeddingWidth(c)),
  );

/** Self-attention sublayer (post-LN): `LayerNorm(x + dropout(attention(x)))`. */
export const attentionSublayer = (c: AlbertConfig): Layer<number, number> =>
  seq(
    residual(
      seq(
        named('attention', multiHeadAttention(c.hiddenSize, c.numAttentionHeads, { maskInput: INPUTS.mask, dropout: c.attentionProbsDropoutProb, initStd: c.initializerRange })),
        dropout(c.hiddenDropoutProb),
      ),
    ),
    named('attention_norm', layerNorm(c.hiddenSize, c.layerNormEps)),
  );

/** Feed-forward sublayer (post-LN): `LayerNorm(x + dropout(W₂·act(W₁·x)))`. */
export const ffnSublayer = (c: AlbertConfig): Layer<number, number> =>
  seq(
    residual(
      seq(
        named('ffn', dense(c.hiddenSize, c.intermediateSize, { activation: c.hiddenAct, initStd: c.initializerRange })),
        named('ffn_output', dense(c.intermediateSize, c.hiddenSize, { initStd: c.initializerRange })),
        dropout(c.hiddenDropoutProb),
      ),
    ),
    named('ffn_norm', layerNorm(c.hiddenSize, c.layerNormEps)),
  );

/** One transformer layer: attention sublayer then FFN sublayer. */
export const block = (c: AlbertConfig): Layer<number, number> => seq(attentionSublayer(c), ffnSublayer(c));

/** Group `g` of ALBERT: `innerGroupNum` distinct layers applied in sequence, shared under `encoder.group{g}`. */
export const group = (c: AlbertConfig, g: number): Layer<number, number> & SharedNode =>
  shared(seq(...(Array.from({ length: c.innerGroupNum }, (_, k) => named(`layer${k}`, block(c))) as [Layer<number, number>])), `encoder.group${g}`);

/**
 * Which group each of the N layers uses: `floor(i / (N / groups))`, as Hugging Face's
 * `AlbertTransformer` does.
 */
export const groupOfLayer = (c: AlbertConfig): number[] =>
  Array.from({ length: c.numHiddenLayers }, (_, i) => Math.floor(i / (c.numHiddenLayers / c.numHiddenGroups)));

/**
 * The encoder stack for the config's sharing strategy (paper Table 4):
 * - `all`: `repeat(shared(group), N)` per run of layers using one group;
 * - `attention` / `ffn`: only that sublayer shared across layers;
 * - `none`: `repeat(block, N)`, every layer its own parameters.
 */
export const encoderStack = (c: AlbertConfig): Layer<number, number> => {
  const N = c.numHiddenLayers;
  switch (c.sharing) {
    case 'all': {
      const runs: { g: number; count: number }[] = [];
      for (const g of groupOfLayer(c)) {
        const last = runs[runs.length - 1];
        if (last && last.g === g) last.count += 1;
        else runs.push({ g, count: 1 });
      }
      const parts = runs.map(({ g, count }) => repeat(group(c, g), count));
      return parts.length === 1 ? (parts[0] as Layer<number, number>) : seq(...(parts as [Layer<number, number>]));
    }
    case 'attention':
      return named('encoder', repeat(seq(shared(attentionSublayer(c), 'encoder.shared'), ffnSublayer(c)), N));
    case 'ffn':
      return named('encoder', repeat(seq(attentionSublayer(c), shared(ffnSublayer(c), 'encoder.shared')), N));
    case 'none':
      return named('encoder', repeat(block(c), N));
  }
};

/** The encoder: embeddings then the layer stack; `[batch, seq]` ids → `[batch, seq, H]`. */
export const encoder = (c: AlbertConfig): Layer<'ids', number> => seq(embeddings(c), encoderStack(c));

/**
 * How a sequence becomes one vector before the pooler's dense layer: `first`, the `[CLS]` position
 * (ALBERT, BERT and Hugging Face), or `mean`, the masked mean over the tokens the attention mask
 * keeps (often better for a small model fine-tuned briefly on long texts).
 * @example const p: Pooling = 'mean';
 */
export type Pooling = 'first' | 'mean';
/** The poolings, for validating user input. */
export const POOLINGS: readonly Pooling[] = ['first', 'mean'];

/**
 * The pooler: first token (or the masked mean, see {@link Pooling}) → dense H→H + tanh, parameters
 * `pooler.kernel`/`pooler.bias` either way, so a pretrained pooler loads into both.
 * @example pooler(PRESETS['albert-base'], 'mean')
 */
export const pooler = (c: AlbertConfig, pooling: Pooling = 'first'): Layer<number, number> =>
  seq(
    pooling === 'mean' ? meanPool({ maskInput: INPUTS.mask }) : firstToken,
    shared(dense(c.hiddenSize, c.hiddenSize, { activation: 'tanh', initStd: c.initializerRange }), 'pooler'),
  );

/**
 * The MLM head: dense H→E + activation, LayerNorm(E), decoder = transpose of the word embedding
 * (tied) + its own bias. With `positions: 'masked'`, logits only at `masked_lm_positions`.
 */
export const mlmHead = (c: AlbertConfig, positions: 'all' | 'masked' = 'all'): Layer<number, number> => {
  const head = named(
    'mlm',
    seq(
      named('dense', dense(c.hiddenSize, c.embeddingSize, { activation: c.hiddenAct, initStd: c.initializerRange })),
      named('layer_norm', layerNorm(c.embeddingSize, c.layerNormEps)),
      named('decoder', tiedUnembed(wordEmbedding(c) as never) as Layer<number, number>),
    ),
  );
  return positions === 'masked' ? seq(gatherPositions(INPUTS.maskedPositions), head) : head;
};

/** Sentence-order (or next-sentence) head on the pooled output: dense H→2 (`sop.*` / `nsp.*`). */
export const orderHead = (c: AlbertConfig, objective: 'sop' | 'nsp'): Layer<number, number> =>
  seq(pooler(c), dropout(c.hiddenDropoutProb), named(objective, dense(c.hiddenSize, 2, { initStd: c.initializerRange })));

/** `AlbertModel`: outputs `last_hidden_state` `[B, S, H]` and `pooler_output` `[B, H]`. */
export const albertModel = (c: AlbertConfig): Layer<'ids', number> =>
  seq(encoder(c), fanout({ last_hidden_state: identity, pooler_output: pooler(c) }));

/** Options of {@link albertForPretraining}. */
export interface PretrainingModelOptions {
  /** `sop` (ALBERT, default), `nsp` (BERT's next-sentence prediction) or `none` (MLM only). */
  readonly objective?: 'sop' | 'nsp' | 'none';
  /** MLM logits at every position (`all`, like Hugging Face) or only at masked ones (`masked`, like the original). */
  readonly mlmPositions?: 'all' | 'masked';
}

/**
 * `AlbertForPreTraining`: outputs `last_hidden_state`, `pooler_output`, `prediction_logits`
 * (`[B, S, V]`, or `[B, P, V]` with `mlmPositions: 'masked'`) and `sop_logits` (`[B, 2]`; named
 * `nsp_logits` for the NSP objective).
 */
export const albertForPretraining = (c: AlbertConfig, opts: PretrainingModelOptions = {}): Layer<'ids', number> => {
  const objective = opts.objective ?? 'sop';
  const outputs: Record<string, Node> = {
    [OUTPUTS.hidden]: identity,
    [OUTPUTS.pooled]: pooler(c),
    [OUTPUTS.mlmLogits]: mlmHead(c, opts.mlmPositions ?? 'all'),
  };
  if (objective !== 'none') outputs[orderLogitsOutput(objective)] = orderHead(c, objective);
  return seq(encoder(c), fanout(outputs));
};

/** The fine-tuning tasks with a head. */
export type TaskHead = 'sequence-classification' | 'token-classification' | 'question-answering' | 'multiple-choice';

/**
 * A model with a task head; output `logits`:
 * - `sequence-classification`: `[B, numLabels]` (regression: `numLabels = 1`), on the pooled output;
 * - `token-classification`: `[B, S, numLabels]`;
 * - `question-answering`: `[B, S, 2]` (start, end), parameters `qa_outputs.*`;
 * - `multiple-choice`: `[B·C, 1]` for inputs flattened from `[B, C, S]` (reshape to `[B, C]`).
 */
export const albertForTask = (c: AlbertConfig, task: TaskHead, numLabels = 2, opts: { readonly pooling?: Pooling } = {}): Layer<'ids', number> => {
  const pool = opts.pooling ?? 'first';
  const cls = (n: number) => named(TASK_HEAD_SCOPE, dense(c.hiddenSize, n, { initStd: c.initializerRange }));
  const head: Node = (() => {
    switch (task) {
      case 'sequence-classification':
        return seq(pooler(c, pool), dropout(c.hiddenDropoutProb), cls(numLabels));
      case 'multiple-choice':
        return seq(pooler(c, pool), dropout(c.hiddenDropoutProb), cls(1));
      case 'token-classification':
        return seq(dropout(c.hiddenDropoutProb), cls(numLabels));
      case 'question-answering':
        return named('qa_outputs', dense(c.hiddenSize, 2, { initStd: c.initializerRange }));
    }
  })();
  // Hugging Face's token-classification and QA models have no pooler; the others do.
  const pooled = task === 'sequence-classification' || task === 'multiple-choice';
  return seq(encoder(c), fanout({ [OUTPUTS.hidden]: identity, ...(pooled ? { [OUTPUTS.pooled]: pooler(c, pool) } : {}), [OUTPUTS.taskLogits]: head }));
};
