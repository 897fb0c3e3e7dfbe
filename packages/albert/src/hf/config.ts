/**
 * Hugging Face `config.json` ↔ {@link AlbertConfig}, and the HF architectures lamina reads and
 * writes.
 *
 * @example
 * ```ts
 * import { hfConfigToAlbert, albertToHfConfig } from '@lamina/albert';
 * const r = hfConfigToAlbert(JSON.parse(fs.readFileSync('albert-base-v2/config.json', 'utf8')));
 * // Right({ config: { vocabSize: 30000, embeddingSize: 128, … }, architecture: 'AlbertForMaskedLM' })
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { HIDDEN_ACTS, validateConfig, type AlbertConfig, type HiddenAct } from '../config.js';

/**
 * The Hugging Face ALBERT model classes whose checkpoints lamina reads and writes.
 * @example HF_ARCHITECTURES.includes('AlbertForPreTraining') // true
 */
export const HF_ARCHITECTURES = [
  'AlbertModel',
  'AlbertForPreTraining',
  'AlbertForMaskedLM',
  'AlbertForSequenceClassification',
  'AlbertForTokenClassification',
  'AlbertForQuestionAnswering',
  'AlbertForMultipleChoice',
] as const;
/** One of {@link HF_ARCHITECTURES}. @example const a: HfArchitecture = 'AlbertModel'; */
export type HfArchitecture = (typeof HF_ARCHITECTURES)[number];

/**
 * What an HF architecture contains besides the encoder (mirrors `modeling_albert.py`).
 * @example HF_ARCHITECTURE_INFO.AlbertModel // { prefix: '', pooler: true, mlm: false, sop: false }
 */
export interface HfArchitectureInfo {
  /** Prefix of the base model's tensors: `''` for `AlbertModel`, `'albert.'` for the heads models. */
  readonly prefix: '' | 'albert.';
  /** Whether the base model has its pooler (`add_pooling_layer`). */
  readonly pooler: boolean;
  /** MLM head (`predictions.*`). */
  readonly mlm: boolean;
  /** Sentence-order head (`sop_classifier.*`). */
  readonly sop: boolean;
  /** Task head: HF module name and how its width is chosen. */
  readonly head?: { readonly hf: 'classifier' | 'qa_outputs'; readonly lamina: 'classifier' | 'qa_outputs'; readonly labels: 'config' | 1 | 2 };
}

/**
 * Per-architecture layout, as in `transformers/models/albert/modeling_albert.py`.
 *
 * @example HF_ARCHITECTURE_INFO.AlbertForTokenClassification.pooler // false
 */
export const HF_ARCHITECTURE_INFO: Readonly<Record<HfArchitecture, HfArchitectureInfo>> = {
  AlbertModel: { prefix: '', pooler: true, mlm: false, sop: false },
  AlbertForPreTraining: { prefix: 'albert.', pooler: true, mlm: true, sop: true },
  AlbertForMaskedLM: { prefix: 'albert.', pooler: false, mlm: true, sop: false },
  AlbertForSequenceClassification: { prefix: 'albert.', pooler: true, mlm: false, sop: false, head: { hf: 'classifier', lamina: 'classifier', labels: 'config' } },
  AlbertForTokenClassification: { prefix: 'albert.', pooler: false, mlm: false, sop: false, head: { hf: 'classifier', lamina: 'classifier', labels: 'config' } },
  AlbertForQuestionAnswering: { prefix: 'albert.', pooler: false, mlm: false, sop: false, head: { hf: 'qa_outputs', lamina: 'qa_outputs', labels: 2 } },
  AlbertForMultipleChoice: { prefix: 'albert.', pooler: true, mlm: false, sop: false, head: { hf: 'classifier', lamina: 'classifier', labels: 1 } },
};

/**
 * Anything that goes wrong in Hugging Face interop. `kind` says which stage failed; for tensor
 * mismatches the offending names are also listed in `missing` / `unexpected` / `misshaped`.
 *
 * @example
 * ```ts
 * const r = await readHfDirectory('ckpt');
 * if (E.isLeft(r) && r.left.kind === 'tensors') console.error(r.left.missing);
 * ```
 */
export interface HfError {
  readonly _tag: 'HfError';
  readonly kind: 'config' | 'tensors' | 'io' | 'format';
  readonly message: string;
  readonly missing?: readonly string[];
  readonly unexpected?: readonly string[];
  readonly misshaped?: readonly string[];
}

/** Builds an {@link HfError}. @example hfError('io', 'no such directory: /x') */
export const hfError = (kind: HfError['kind'], message: string, extra: Partial<Pick<HfError, 'missing' | 'unexpected' | 'misshaped'>> = {}): HfError => ({
  _tag: 'HfError',
  kind,
  message,
  ...extra,
});

/** Parses an architecture name; unknown names list the supported ones. @example parseHfArchitecture('AlbertModel') */
export const parseHfArchitecture = (name: string): E.Either<HfError, HfArchitecture> =>
  (HF_ARCHITECTURES as readonly string[]).includes(name)
    ? E.right(name as HfArchitecture)
    : E.left(hfError('config', `unsupported architecture "${name}" (supported: ${HF_ARCHITECTURES.join(', ')})`));

/**
 * The number of outputs of an architecture's task head: fixed for QA (2: start/end) and multiple
 * choice (1), `numLabels` (default 2, HF's default) for sequence/token classification, undefined
 * for architectures without a task head.
 *
 * @example headLabels('AlbertForMultipleChoice', 5) // 1
 */
export const headLabels = (architecture: HfArchitecture, numLabels?: number): number | undefined => {
  const head = HF_ARCHITECTURE_INFO[architecture].head;
  if (head === undefined) return undefined;
  return head.labels === 'config' ? (numLabels ?? 2) : head.labels;
};

/**
 * The result of reading an HF `config.json`.
 * @example { config: tinyConfig(), architecture: 'AlbertForSequenceClassification', numLabels: 3 }
 */
export interface HfConfigInfo {
  readonly config: AlbertConfig;
  readonly architecture: HfArchitecture;
  /** Task-head width for classification architectures (from `id2label` / `num_labels`, default 2). */
  readonly numLabels?: number;
}

/** HF `AlbertConfig` defaults, used for keys a config.json leaves out. */
const HF_DEFAULTS = {
  vocab_size: 30000,
  embedding_size: 128,
  hidden_size: 4096,
  num_hidden_layers: 12,
  num_hidden_groups: 1,
  num_attention_heads: 64,
  intermediate_size: 16384,
  inner_group_num: 1,
  hidden_act: 'gelu_new',
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
} as const;

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

/**
 * Reads a Hugging Face ALBERT `config.json` value. Missing keys take HF's defaults; ill-typed keys,
 * a non-ALBERT `model_type`, an unsupported architecture, relative position embeddings and an
 * untied MLM decoder are errors naming the key. The result is `sharing: 'all', factorized: true`
 * (HF ALBERT always shares within groups and always has the E→H projection).
 *
 * @example
 * ```ts
 * hfConfigToAlbert({ model_type: 'albert', architectures: ['AlbertForPreTraining'], vocab_size: 99, hidden_size: 32, num_attention_heads: 4 });
 * ```
 */
export const hfConfigToAlbert = (json: unknown): E.Either<HfError, HfConfigInfo> => {
  if (!isRecord(json)) return E.left(hfError('config', 'config.json must be a JSON object'));
  const problems: string[] = [];
  const get = (k: keyof typeof HF_DEFAULTS): unknown => (json[k] === undefined || json[k] === null ? HF_DEFAULTS[k] : json[k]);
  const int = (k: keyof typeof HF_DEFAULTS): number => {
    const v = get(k);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) problems.push(`${k}: expected a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const prob = (k: keyof typeof HF_DEFAULTS): number => {
    const v = get(k);
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) problems.push(`${k}: expected a probability in [0, 1), got ${JSON.stringify(v)}`);
    return v as number;
  };
  const positive = (k: keyof typeof HF_DEFAULTS): number => {
    const v = get(k);
    if (typeof v !== 'number' || !(v > 0 && Number.isFinite(v))) problems.push(`${k}: expected a positive number, got ${JSON.stringify(v)}`);
    return v as number;
  };

  if (json['model_type'] !== undefined && json['model_type'] !== 'albert')
    problems.push(`model_type: expected "albert", got ${JSON.stringify(json['model_type'])}`);
  let architecture: HfArchitecture = 'AlbertModel';
  const archs = json['architectures'];
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || archs.length !== 1 || typeof archs[0] !== 'string')
      problems.push(`architectures: expected a list of one architecture name, got ${JSON.stringify(archs)}`);
    else {
      const a = parseHfArchitecture(archs[0]);
      if (E.isLeft(a)) problems.push(`architectures: ${a.left.message}`);
      else architecture = a.right;
    }
  }
  const act = get('hidden_act');
  if (typeof act !== 'string' || !(HIDDEN_ACTS as readonly string[]).includes(act))
    problems.push(`hidden_act: expected one of ${HIDDEN_ACTS.join(', ')}, got ${JSON.stringify(act)}`);
  const pet = json['position_embedding_type'];
  if (pet !== undefined && pet !== null && pet !== 'absolute')
    problems.push(`position_embedding_type: only "absolute" is supported, got ${JSON.stringify(pet)}`);
  if (json['tie_word_embeddings'] === false && HF_ARCHITECTURE_INFO[architecture].mlm)
    problems.push('tie_word_embeddings: false (an untied MLM decoder) is not supported; lamina always ties the decoder to the word embeddings');

  let numLabels: number | undefined;
  if (HF_ARCHITECTURE_INFO[architecture].head?.labels === 'config') {
    const id2label = json['id2label'];
    const n = json['num_labels'];
    if (isRecord(id2label)) numLabels = Object.keys(id2label).length;
    else if (n !== undefined) numLabels = n as number;
    else numLabels = 2;
    if (!Number.isInteger(numLabels) || (numLabels as number) <= 0) problems.push(`num_labels: expected a positive integer, got ${JSON.stringify(numLabels)}`);
  }

  const config: AlbertConfig = {
    vocabSize: int('vocab_size'),
    embeddingSize: int('embedding_size'),
    hiddenSize: int('hidden_size'),
    numHiddenLayers: int('num_hidden_layers'),
    numHiddenGroups: int('num_hidden_groups'),
    numAttentionHeads: int('num_attention_heads'),
    intermediateSize: int('intermediate_size'),
    innerGroupNum: int('inner_group_num'),
    hiddenAct: act as HiddenAct,
    maxPositionEmbeddings: int('max_position_embeddings'),
    typeVocabSize: int('type_vocab_size'),
    layerNormEps: positive('layer_norm_eps'),
    initializerRange: positive('initializer_range'),
    hiddenDropoutProb: prob('hidden_dropout_prob'),
    attentionProbsDropoutProb: prob('attention_probs_dropout_prob'),
    sharing: 'all',
    factorized: true,
  };
  if (problems.length) return E.left(hfError('config', `invalid ALBERT config.json: ${problems.join('; ')}`));
  const valid = validateConfig(config);
  if (E.isLeft(valid)) return E.left(hfError('config', `invalid ALBERT config.json: ${valid.left.message}`));
  return E.right(numLabels === undefined ? { config, architecture } : { config, architecture, numLabels });
};

/**
 * Checks that a lamina config can be expressed as a Hugging Face ALBERT model: HF ALBERT has
 * cross-layer sharing `all` (within groups) and the factorised embedding; other Table 4 variants
 * and BERT-style configs have no HF ALBERT equivalent.
 *
 * @example checkHfExportable(preset('bert-base')) // Left: … sharing "none" …
 */
export const checkHfExportable = (config: AlbertConfig): E.Either<HfError, AlbertConfig> => {
  const problems: string[] = [];
  if (config.sharing !== 'all')
    problems.push(`sharing "${config.sharing}" has no Hugging Face ALBERT equivalent (HF ALBERT shares all layer parameters within each group; only sharing "all" can be exported)`);
  if (!config.factorized) problems.push('an unfactorised (BERT-style) embedding has no Hugging Face ALBERT equivalent (HF ALBERT always has embedding_hidden_mapping_in; only factorized: true can be exported)');
  return problems.length ? E.left(hfError('config', problems.join('; '))) : E.right(config);
};

/**
 * Writes a lamina config as a Hugging Face ALBERT `config.json` value (keys sorted, as
 * `save_pretrained` writes them). Only `sharing: 'all'`, `factorized: true` configs are
 * exportable; anything else is a `Left` saying why.
 *
 * @example
 * ```ts
 * const json = albertToHfConfig(tinyConfig(), 'AlbertForPreTraining'); // Right({ architectures: ['AlbertForPreTraining'], … })
 * ```
 */
export const albertToHfConfig = (config: AlbertConfig, architecture: HfArchitecture, numLabels?: number): E.Either<HfError, Record<string, unknown>> => {
  const ok = checkHfExportable(config);
  if (E.isLeft(ok)) return ok;
  const valid = validateConfig(config);
  if (E.isLeft(valid)) return E.left(hfError('config', valid.left.message));
  const labels = HF_ARCHITECTURE_INFO[architecture].head?.labels === 'config' ? (numLabels ?? 2) : undefined;
  if (labels !== undefined && !(Number.isInteger(labels) && labels > 0)) return E.left(hfError('config', `numLabels must be a positive integer, got ${labels}`));
  const out: Record<string, unknown> = {
    architectures: [architecture],
    attention_probs_dropout_prob: config.attentionProbsDropoutProb,
    bos_token_id: 2,
    classifier_dropout_prob: 0.1,
    dtype: 'float32',
    embedding_size: config.embeddingSize,
    eos_token_id: 3,
    hidden_act: config.hiddenAct,
    hidden_dropout_prob: config.hiddenDropoutProb,
    hidden_size: config.hiddenSize,
    initializer_range: config.initializerRange,
    inner_group_num: config.innerGroupNum,
    intermediate_size: config.intermediateSize,
    layer_norm_eps: config.layerNormEps,
    max_position_embeddings: config.maxPositionEmbeddings,
    model_type: 'albert',
    num_attention_heads: config.numAttentionHeads,
    num_hidden_groups: config.numHiddenGroups,
    num_hidden_layers: config.numHiddenLayers,
    pad_token_id: 0,
    tie_word_embeddings: true,
    type_vocab_size: config.typeVocabSize,
    vocab_size: config.vocabSize,
  };
  if (labels !== undefined) {
    out['id2label'] = Object.fromEntries(Array.from({ length: labels }, (_, i) => [String(i), `LABEL_${i}`]));
    out['label2id'] = Object.fromEntries(Array.from({ length: labels }, (_, i) => [`LABEL_${i}`, i]));
  }
  return E.right(Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]])));
};
