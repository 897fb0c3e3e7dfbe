/**
 * The name map between lamina parameter paths and Hugging Face ALBERT state-dict names, and the
 * conversions of whole parameter sets in both directions.
 *
 * lamina dense kernels are `[in, out]`; PyTorch `nn.Linear` weights are `[out, in]`, so every
 * kernel is transposed. The MLM decoder weight is the word embedding (tied): HF's `save_pretrained`
 * stores neither `predictions.decoder.weight` nor `predictions.decoder.bias` (they are tied to
 * `albert.embeddings.word_embeddings.weight` and `predictions.bias`), older checkpoints store both;
 * reading accepts either form, writing produces what `save_pretrained` produces.
 *
 * @example
 * ```ts
 * import { hfNameMap, tinyConfig } from '@lamina/albert';
 * hfNameMap(tinyConfig(), 'AlbertForPreTraining')[5];
 * // { lamina: 'embeddings.projection.kernel', hf: 'albert.encoder.embedding_hidden_mapping_in.weight', transpose: true, shape: [16, 32] }
 * ```
 * @module
 */
import type { RawTensor } from '@lamina/dsl';
import * as E from 'fp-ts/lib/Either.js';
import type { AlbertConfig } from '../config.js';
import { headLabels, HF_ARCHITECTURE_INFO, hfError, type HfArchitecture, type HfError } from './config.js';

/**
 * One parameter: its lamina path, its HF name, whether the HF tensor is the transpose, and its lamina shape.
 * @example { lamina: 'pooler.kernel', hf: 'albert.pooler.weight', transpose: true, shape: [768, 768] }
 */
export interface HfNameEntry {
  readonly lamina: string;
  readonly hf: string;
  readonly transpose: boolean;
  readonly shape: readonly number[];
}

/**
 * Every parameter of `architecture` for `config`, each exactly once, in HF module order.
 * `numLabels` sets the width of sequence/token classification heads (default 2).
 *
 * @example hfNameMap(tinyConfig({ numHiddenGroups: 2 }), 'AlbertModel').map((e) => e.hf)
 */
export const hfNameMap = (config: AlbertConfig, architecture: HfArchitecture, numLabels?: number): readonly HfNameEntry[] => {
  const { vocabSize: V, embeddingSize: Em, hiddenSize: H, intermediateSize: I, maxPositionEmbeddings: P, typeVocabSize: T } = config;
  const info = HF_ARCHITECTURE_INFO[architecture];
  const p = info.prefix;
  const out: HfNameEntry[] = [];
  const add = (lamina: string, hf: string, shape: readonly number[], transpose = false): void => {
    out.push({ lamina, hf, transpose, shape });
  };
  const linear = (lamina: string, hf: string, inDim: number, outDim: number): void => {
    add(`${lamina}.kernel`, `${hf}.weight`, [inDim, outDim], true);
    add(`${lamina}.bias`, `${hf}.bias`, [outDim]);
  };
  const norm = (lamina: string, hf: string, dim: number): void => {
    add(`${lamina}.gamma`, `${hf}.weight`, [dim]);
    add(`${lamina}.beta`, `${hf}.bias`, [dim]);
  };

  add('embeddings.word.embeddings', `${p}embeddings.word_embeddings.weight`, [V, Em]);
  add('embeddings.position.embeddings', `${p}embeddings.position_embeddings.weight`, [P, Em]);
  add('embeddings.token_type.embeddings', `${p}embeddings.token_type_embeddings.weight`, [T, Em]);
  norm('embeddings.layer_norm', `${p}embeddings.LayerNorm`, Em);
  linear('embeddings.projection', `${p}encoder.embedding_hidden_mapping_in`, Em, H);
  for (let g = 0; g < config.numHiddenGroups; g++)
    for (let k = 0; k < config.innerGroupNum; k++) {
      const l = `encoder.group${g}.layer${k}`;
      const h = `${p}encoder.albert_layer_groups.${g}.albert_layers.${k}`;
      linear(`${l}.attention.query`, `${h}.attention.query`, H, H);
      linear(`${l}.attention.key`, `${h}.attention.key`, H, H);
      linear(`${l}.attention.value`, `${h}.attention.value`, H, H);
      linear(`${l}.attention.output`, `${h}.attention.dense`, H, H);
      norm(`${l}.attention_norm`, `${h}.attention.LayerNorm`, H);
      linear(`${l}.ffn`, `${h}.ffn`, H, I);
      linear(`${l}.ffn_output`, `${h}.ffn_output`, I, H);
      norm(`${l}.ffn_norm`, `${h}.full_layer_layer_norm`, H);
    }
  if (info.pooler) linear('pooler', `${p}pooler`, H, H);
  if (info.mlm) {
    linear('mlm.dense', 'predictions.dense', H, Em);
    norm('mlm.layer_norm', 'predictions.LayerNorm', Em);
    add('mlm.decoder.bias', 'predictions.bias', [V]);
  }
  if (info.sop) linear('sop', 'sop_classifier.classifier', H, 2);
  const labels = headLabels(architecture, numLabels);
  if (info.head !== undefined && labels !== undefined) linear(info.head.lamina, info.head.hf, H, labels);
  return out;
};

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

const transpose2d = (t: RawTensor): RawTensor => {
  const [r, c] = t.shape as [number, number];
  const src = t.data;
  const dst = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) dst[j * r + i] = src[i * c + j]!;
  return { dtype: 'float32', shape: [c, r], data: dst };
};

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

const describeConfig = (c: AlbertConfig, architecture: HfArchitecture, labels: number | undefined): string =>
  `${architecture} (V=${c.vocabSize}, E=${c.embeddingSize}, H=${c.hiddenSize}, I=${c.intermediateSize}, P=${c.maxPositionEmbeddings}, ` +
  `groups=${c.numHiddenGroups}, inner_group_num=${c.innerGroupNum}${labels === undefined ? '' : `, labels=${labels}`})`;

const mismatchError = (what: string, missing: string[], unexpected: string[], misshaped: string[]): HfError => {
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${missing.length}: ${missing.join(', ')}`);
  if (unexpected.length) parts.push(`unexpected ${unexpected.length}: ${unexpected.join(', ')}`);
  if (misshaped.length) parts.push(`wrong shape or dtype ${misshaped.length}: ${misshaped.join(', ')}`);
  return hfError('tensors', `${what}: ${parts.join('; ')}`, { missing, unexpected, misshaped });
};

/**
 * Converts lamina parameters to an HF state dict for `architecture` (kernels transposed). Every
 * parameter the map expects must be present with its shape, and no others: missing, unexpected
 * and mis-shaped parameters are all named in one `Left`. `numLabels` defaults to the width of
 * `classifier.bias` when present.
 *
 * @example
 * ```ts
 * const sd = toHfStateDict(params, config, 'AlbertForPreTraining'); // Right({ 'albert.embeddings.word_embeddings.weight': …, … })
 * ```
 */
export const toHfStateDict = (
  params: Readonly<Record<string, RawTensor>>,
  config: AlbertConfig,
  architecture: HfArchitecture,
  numLabels?: number,
): E.Either<HfError, Record<string, RawTensor>> => {
  const labels = numLabels ?? params['classifier.bias']?.shape[0];
  const map = hfNameMap(config, architecture, labels);
  const missing: string[] = [];
  const misshaped: string[] = [];
  const out: Record<string, RawTensor> = {};
  for (const e of map) {
    const t = params[e.lamina];
    if (t === undefined) missing.push(e.lamina);
    else if (!sameShape(t.shape, e.shape) || t.dtype !== 'float32' || t.data.length !== e.shape.reduce((a, b) => a * b, 1))
      misshaped.push(`${e.lamina} (expected float32 ${fmt(e.shape)}, got ${t.dtype} ${fmt(t.shape)})`);
    else out[e.hf] = e.transpose ? transpose2d(t) : t;
  }
  const known = new Set(map.map((e) => e.lamina));
  const unexpected = Object.keys(params).filter((k) => !known.has(k)).sort();
  if (missing.length || unexpected.length || misshaped.length)
    return E.left(mismatchError(`lamina parameters do not match ${describeConfig(config, architecture, headLabels(architecture, labels))}`, missing, unexpected, misshaped));
  return E.right(out);
};

/**
 * Options for {@link fromHfStateDict}.
 * @example fromHfStateDict(tensors, config, 'AlbertModel', { allowUnexpected: true })
 */
export interface FromHfOptions {
  /** Width of a sequence/token classification head (default 2). */
  readonly numLabels?: number;
  /**
   * Ignore tensors the architecture does not use instead of failing — e.g. to take the encoder of
   * an `AlbertForPreTraining` checkpoint as an `AlbertModel`. Missing tensors are still errors.
   */
  readonly allowUnexpected?: boolean;
}

/**
 * Converts an HF state dict to lamina parameters for `architecture` (kernels transposed). The
 * `albert.` prefix is adapted both ways (a heads checkpoint read as `AlbertModel`, or an
 * `AlbertModel` checkpoint read as a heads model), the tied `predictions.decoder.weight` /
 * `predictions.decoder.bias` are accepted when present (shape-checked, then ignored, or the bias
 * used when `predictions.bias` is absent), and the legacy `embeddings.position_ids` buffer is
 * ignored. Every other difference — missing, unexpected, mis-shaped or non-float tensors — is
 * named in one `Left`.
 *
 * @example
 * ```ts
 * const r = fromHfStateDict(decoded.tensors, config, 'AlbertForPreTraining');
 * // Left: "checkpoint does not match AlbertForPreTraining (…): missing 1: predictions.bias"
 * ```
 */
export const fromHfStateDict = (
  tensors: Readonly<Record<string, RawTensor>>,
  config: AlbertConfig,
  architecture: HfArchitecture,
  options: FromHfOptions = {},
): E.Either<HfError, Record<string, RawTensor>> => {
  const info = HF_ARCHITECTURE_INFO[architecture];
  const map = hfNameMap(config, architecture, options.numLabels);
  const word = 'embeddings.word_embeddings.weight';
  const BASE = ['embeddings.', 'encoder.', 'pooler.'];
  let source: Record<string, RawTensor> = { ...tensors };
  if (info.prefix === '' && !(word in source) && `albert.${word}` in source)
    source = Object.fromEntries(Object.entries(source).map(([k, v]) => [k.startsWith('albert.') ? k.slice('albert.'.length) : k, v]));
  else if (info.prefix === 'albert.' && !(`albert.${word}` in source) && word in source)
    source = Object.fromEntries(Object.entries(source).map(([k, v]) => [BASE.some((b) => k.startsWith(b)) ? `albert.${k}` : k, v]));

  const missing: string[] = [];
  const unexpected: string[] = [];
  const misshaped: string[] = [];
  const used = new Set<string>();
  const check = (name: string, t: RawTensor, shape: readonly number[]): boolean => {
    if (t.dtype === 'float32' && sameShape(t.shape, shape)) return true;
    misshaped.push(`${name} (expected float32 ${fmt(shape)}, got ${t.dtype} ${fmt(t.shape)})`);
    return false;
  };

  const ignorable = new Set([`${info.prefix}embeddings.position_ids`]);
  if (info.mlm) {
    const decW = source['predictions.decoder.weight'];
    if (decW !== undefined) check('predictions.decoder.weight', decW, [config.vocabSize, config.embeddingSize]);
    ignorable.add('predictions.decoder.weight');
    const decB = source['predictions.decoder.bias'];
    if (decB !== undefined) {
      if (source['predictions.bias'] === undefined) source['predictions.bias'] = decB;
      else check('predictions.decoder.bias', decB, [config.vocabSize]);
    }
    ignorable.add('predictions.decoder.bias');
  }

  const out: Record<string, RawTensor> = {};
  for (const e of map) {
    const t = source[e.hf];
    used.add(e.hf);
    const hfShape = e.transpose ? [...e.shape].reverse() : e.shape;
    if (t === undefined) missing.push(e.hf);
    else if (check(e.hf, t, hfShape)) out[e.lamina] = e.transpose ? transpose2d(t) : t;
  }
  for (const k of Object.keys(source).sort()) if (!used.has(k) && !ignorable.has(k) && !options.allowUnexpected) unexpected.push(k);
  if (missing.length || unexpected.length || misshaped.length)
    return E.left(mismatchError(`checkpoint does not match ${describeConfig(config, architecture, headLabels(architecture, options.numLabels))}`, missing, unexpected, misshaped));
  return E.right(out);
};
